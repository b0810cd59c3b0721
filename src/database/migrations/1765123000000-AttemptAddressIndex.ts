import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What went to one number lately: the carrier limits per called number count it before every
 * SMS and call, and the stuck-send reconciliation looks up what was recorded for a number.
 */
export class AttemptAddressIndex1765123000000 implements MigrationInterface {
  name = 'AttemptAddressIndex1765123000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX contact_attempts_address_idx ON contact_attempts (address)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX contact_attempts_address_idx`);
  }
}
