import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `step_done`: the chain step whose follow-up (the next step's contacts, or escalation when the
 * steps ran out) has been carried out. A step timer advances `step` first; until `step_done`
 * catches up, a retried timer or the recovery sweep carries the follow-up out again, so a fault
 * between the two loses no escalation.
 */
export class ChainFollowUps1764300000000 implements MigrationInterface {
  name = 'ChainFollowUps1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries ADD COLUMN step_done int NOT NULL DEFAULT 0`);
    await q.query(`UPDATE deliveries SET step_done = step`);
    await q.query(
      `CREATE INDEX deliveries_step_behind_idx ON deliveries (step_started_at) WHERE step_done < step`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX deliveries_step_behind_idx`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN step_done`);
  }
}
