import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CONSOLE_NOTIFY_CHANNEL } from './1765100000000-ConsoleNotify';

/**
 * The console's notifications only for warnings someone watches. A NOTIFY makes its transaction
 * take Postgres's notification queue lock at commit and hold it through the commit's WAL flush,
 * so every transaction that notifies commits one after the other: during a fan-out and a wave of
 * answers that became a ceiling on both (10 % of the sessions waiting on it in the answers
 * bench). The console marks what it watches in `console_watches` (unlogged: losing it in a crash
 * only costs the next 30-second refresh); the triggers skip every other warning.
 */
export class ConsoleWatchGate1765300000000 implements MigrationInterface {
  name = 'ConsoleWatchGate1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE UNLOGGED TABLE console_watches (warning_id uuid PRIMARY KEY, until timestamptz NOT NULL)`,
    );
    await q.query(`
      CREATE OR REPLACE FUNCTION console_notify_by_warning_id() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT c.warning_id FROM changed c
                  WHERE EXISTS (SELECT 1 FROM console_watches cw WHERE cw.warning_id = c.warning_id AND cw.until > now()) LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION console_notify_by_id() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT c.id FROM changed c
                  WHERE EXISTS (SELECT 1 FROM console_watches cw WHERE cw.warning_id = c.id AND cw.until > now()) LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION console_notify_by_group_send() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT gs.warning_id FROM changed c JOIN group_sends gs ON gs.id = c.group_send_id
                  WHERE EXISTS (SELECT 1 FROM console_watches cw WHERE cw.warning_id = gs.warning_id AND cw.until > now()) LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION console_notify_by_warning_id() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT warning_id FROM changed LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION console_notify_by_id() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT id FROM changed LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION console_notify_by_group_send() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT gs.warning_id FROM changed c JOIN group_sends gs ON gs.id = c.group_send_id LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`DROP TABLE console_watches`);
  }
}
