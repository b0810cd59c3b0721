import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The channel the console's live view listens on; the payload is a warning id. */
export const CONSOLE_NOTIFY_CHANNEL = 'console_warning';

/**
 * The console's live view is pushed, not polled: every statement that changes what the live
 * summary shows (deliveries, the warning itself, loudspeaker group sends and their playback
 * receipts) sends `NOTIFY console_warning, '<warning id>'` once per warning it touched, at commit.
 *
 * Statement-level triggers with transition tables: a fan-out inserting 20,000 deliveries in one
 * statement sends one notification, not 20,000 (and Postgres folds identical notifications of one
 * transaction into one). The listening side (ConsoleStreamService) debounces what is left.
 * Nothing is sent when nobody listens; no code path of the dispatch or the answers changes.
 */
export class ConsoleNotify1765100000000 implements MigrationInterface {
  name = 'ConsoleNotify1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION console_notify_by_warning_id() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT warning_id FROM changed LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION console_notify_by_id() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT id FROM changed LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION console_notify_by_group_send() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE w uuid;
      BEGIN
        FOR w IN SELECT DISTINCT gs.warning_id FROM changed c JOIN group_sends gs ON gs.id = c.group_send_id LOOP
          PERFORM pg_notify('${CONSOLE_NOTIFY_CHANNEL}', w::text);
        END LOOP;
        RETURN NULL;
      END $$`);
    for (const [table, fn] of TRIGGERS) {
      for (const event of ['INSERT', 'UPDATE'] as const) {
        if (table === 'warnings' && event === 'INSERT') continue; // no deliveries yet: nothing to show
        await q.query(
          `CREATE TRIGGER ${table}_console_notify_${event.toLowerCase()} AFTER ${event} ON ${table}
             REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
        );
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table] of TRIGGERS) {
      for (const event of ['insert', 'update']) {
        await q.query(`DROP TRIGGER IF EXISTS ${table}_console_notify_${event} ON ${table}`);
      }
    }
    await q.query(`DROP FUNCTION console_notify_by_warning_id()`);
    await q.query(`DROP FUNCTION console_notify_by_id()`);
    await q.query(`DROP FUNCTION console_notify_by_group_send()`);
  }
}

/** Table → the function that finds the warnings a statement on it touched. */
const TRIGGERS: [string, string][] = [
  ['deliveries', 'console_notify_by_warning_id'],
  ['warnings', 'console_notify_by_id'],
  ['group_sends', 'console_notify_by_warning_id'],
  ['broadcast_receipts', 'console_notify_by_group_send'],
];
