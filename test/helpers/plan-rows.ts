import type { DataSource } from 'typeorm';

/** A node of a Postgres plan (`EXPLAIN (ANALYZE, FORMAT JSON)`), as far as the counts need. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Subplan Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows of `table` a plan handled in all its loops (returned or filtered out). */
export function rowsOf(node: PlanNode, table: string): number {
  const own =
    node['Relation Name'] === table || node['Index Name']?.startsWith(`${table}_`)
      ? ((node['Actual Rows'] ?? 0) +
          (node['Rows Removed by Filter'] ?? 0) +
          (node['Rows Removed by Join Filter'] ?? 0) +
          (node['Rows Removed by Index Recheck'] ?? 0)) *
        (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((n, c) => n + rowsOf(c, table), 0);
}

/**
 * Runs `sql` under EXPLAIN ANALYZE and counts the rows of `table` it handled: the work of a
 * search, counted in rows read from its plan, never in time.
 */
export async function plannedRows(ds: DataSource, sql: string, table: string): Promise<number> {
  const [
    {
      'QUERY PLAN': [plan],
    },
  ] = await ds.query(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${sql}`);
  return rowsOf((plan as { Plan: PlanNode }).Plan, table);
}
