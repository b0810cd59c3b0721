import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Targeting: the grid staff of the grids a hazard point or risk zone touches are "every person of
 * the grid who is not a resident". people_grid_idx (grid_code) reaches them only through all the
 * grid's people (≈500 residents per grid in the 1M-people benchmark: 497 rows fetched and thrown
 * away per grid, ~1 ms each); this partial index holds the staff alone (under 1% of people), so a
 * site costs a few index entries per touched grid.
 *
 * The predicate is only `role <> 'resident'` (not also `grid_code IS NOT NULL`) so that the
 * planner can prove it from the query's own `role <> 'resident'`; the few staff without a grid
 * make no difference to its size.
 */
export class TargetingIndexes1763900000000 implements MigrationInterface {
  name = 'TargetingIndexes1763900000000';

  async up(q: QueryRunner): Promise<void> {
    // IF NOT EXISTS: bench/ applies this migration by itself on databases that predate it.
    await q.query(
      `CREATE INDEX IF NOT EXISTS people_grid_staff_idx ON people (grid_code) WHERE role <> 'resident'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS people_grid_staff_idx`);
  }
}
