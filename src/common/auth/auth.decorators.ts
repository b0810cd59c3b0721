import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { TokenRole } from './token-role';

export const ROLES_KEY = 'auth:roles';
export const PUBLIC_KEY = 'auth:public';

/** The roles allowed on a route or controller. Routes with neither this nor @Public() are refused. */
export const Roles = (...roles: TokenRole[]) => SetMetadata(ROLES_KEY, roles);

/** No token needed: health, metrics, docs, provider webhooks (they verify their own signatures). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Who is calling, as established by the bearer token. */
export interface Principal {
  tokenId: string;
  name: string;
  role: TokenRole;
  /** duty_officer: division code prefix. */
  jurisdiction: string | null;
  /** grid_member: grid code. */
  gridCode: string | null;
}

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest().principal,
);
