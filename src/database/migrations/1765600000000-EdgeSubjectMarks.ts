import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an escalation edge about a person was last opened (`deliveries.edge_opened_at`): written on
 * the person's delivery, under its row lock, in the transaction that opens the edge
 * (`StepMoves.openEdge`, `openTaskEdge`). A confirmation's move of that row waits for the lock and
 * then reads the mark from the row's newest version, so it resolves an edge committed after its
 * statement began (docs/chain.md, "Resolution by the subject"). Set for the edges already there.
 */
export class EdgeSubjectMarks1765600000000 implements MigrationInterface {
  name = 'EdgeSubjectMarks1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries ADD COLUMN edge_opened_at timestamptz`);
    await q.query(
      `UPDATE deliveries d SET edge_opened_at = e.opened
         FROM (SELECT from_delivery_id, max(created_at) AS opened FROM escalations GROUP BY from_delivery_id) e
        WHERE d.id = e.from_delivery_id`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries DROP COLUMN edge_opened_at`);
  }
}
