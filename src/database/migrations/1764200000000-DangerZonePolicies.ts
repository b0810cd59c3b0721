import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Policies that apply only in a warning's danger zone. The seeded imminent-warning policy for
 * residents (voice on top of SMS) becomes one: residents threatened by the warning's hazard points
 * or risk zones get the call, the others in the area the SMS and the loudspeakers.
 */
export class DangerZonePolicies1764200000000 implements MigrationInterface {
  name = 'DangerZonePolicies1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE escalation_policies ADD COLUMN danger_zone_only boolean NOT NULL DEFAULT false`,
    );
    await q.query(
      `UPDATE escalation_policies SET danger_zone_only = true, updated_at = now() WHERE name = '临灾预警-居民'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escalation_policies DROP COLUMN danger_zone_only`);
  }
}
