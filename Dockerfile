FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig*.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The duty console's page and stylesheet, read at run time (its script is bundled into dist).
COPY --from=build /app/src/modules/console/web ./src/modules/console/web
COPY package.json ./
USER node
EXPOSE 3000
CMD ["node", "dist/main.js"]
