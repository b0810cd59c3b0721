import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every confirmation closes the open door-to-door tasks about the person (TasksService
 * .closeForSubject): an index so that this lookup on the answer path reads only open tasks of
 * that person, however many tasks a county-wide warning has.
 */
export class AnswerPathIndexes1765000000000 implements MigrationInterface {
  name = 'AnswerPathIndexes1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX manual_tasks_open_subject_idx ON manual_tasks (subject_delivery_id) WHERE status = 'open'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX manual_tasks_open_subject_idx`);
  }
}
