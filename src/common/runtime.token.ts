import type { ProcessRole } from '../config/env.validation';

/** What the process resolved at boot: where Postgres is, which queue backend, and its role. */
export interface GatewayRuntime {
  role: ProcessRole;
  databaseUrl: string;
  queue: { backend: 'redis'; url: string } | { backend: 'postgres'; connectionString: string };
  embedded: { postgres: boolean; redis: boolean };
}

export const GATEWAY_RUNTIME = 'GATEWAY_RUNTIME';
