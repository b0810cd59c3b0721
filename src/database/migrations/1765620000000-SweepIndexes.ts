import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two searches of the recovery sweep (every 30 s) start from the few deliveries they are about
 * instead of reading every delivery of every active warning: requests for help not passed on
 * (at a million people that read took 0.43 s a sweep and found nothing), and grids whose
 * group-rule timer was lost (only responsible people of a grid count). Both indexes are partial:
 * a resident's delivery without a request for help is in neither, so the fan-out's inserts do
 * not grow.
 */
export class SweepIndexes1765620000000 implements MigrationInterface {
  name = 'SweepIndexes1765620000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX deliveries_help_requested_idx ON deliveries (help_requested_at)
        WHERE help_requested_at IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX deliveries_grid_responsible_idx ON deliveries (warning_id, version, grid_code)
        WHERE role <> 'resident' AND grid_code IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX deliveries_grid_responsible_idx`);
    await q.query(`DROP INDEX deliveries_help_requested_idx`);
  }
}
