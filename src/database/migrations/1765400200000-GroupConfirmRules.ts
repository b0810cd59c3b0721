import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Confirmation rules of the group rule (issue 13):
 * - `escalation_policies.group_confirm`: what counts as answered for a grid, `{"rule":"one"}`
 *   (the default, as before), `{"rule":"all"}` or `{"rule":"at_least","count":N}`.
 * - `group_rule_outcomes`: what each grid's group rule found at its due time, once per warning
 *   version and grid: the rule and the policy it came from, the confirmations it required, the
 *   grid's responsible persons and how many had confirmed, whether the rule was met, and who had
 *   not confirmed. A notice about the grid reports these figures; a retried timer acts on the
 *   outcome recorded first.
 */
export class GroupConfirmRules1765400200000 implements MigrationInterface {
  name = 'GroupConfirmRules1765400200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE escalation_policies ADD COLUMN group_confirm jsonb NOT NULL DEFAULT '{"rule": "one"}'`,
    );
    await q.query(`
      CREATE TABLE group_rule_outcomes (
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        version int NOT NULL,
        grid_code text NOT NULL,
        policy_id uuid REFERENCES escalation_policies(id) ON DELETE SET NULL,
        rule jsonb NOT NULL,
        required int NOT NULL,
        total int NOT NULL,
        confirmed int NOT NULL,
        met boolean NOT NULL,
        unconfirmed uuid[] NOT NULL DEFAULT '{}',
        evaluated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (warning_id, version, grid_code)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE group_rule_outcomes`);
    await q.query(`ALTER TABLE escalation_policies DROP COLUMN group_confirm`);
  }
}
