import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A delivery's attempts are numbered per purpose: its person's own alert (`warning`), notices
 * about others (`notice`) and door-to-door task SMS (`task`) each have their own `seq`. The fan-out
 * numbers a person's first contacts from 0, so that a run done twice writes them once; a notice
 * queued to that person before them (a fan-out killed between its deliveries and their attempts,
 * while a step of someone else ran out) took number 0 and the alert's insert was dropped as a
 * repeat: the person was never sent their own alert.
 */
export class AttemptNumbersPerPurpose1765630000000 implements MigrationInterface {
  name = 'AttemptNumbersPerPurpose1765630000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE contact_attempts
         ADD CONSTRAINT contact_attempts_seq_key UNIQUE (delivery_id, version, msg_type, purpose, seq),
         DROP CONSTRAINT contact_attempts_delivery_id_version_msg_type_seq_key`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE contact_attempts
         ADD CONSTRAINT contact_attempts_delivery_id_version_msg_type_seq_key UNIQUE (delivery_id, version, msg_type, seq),
         DROP CONSTRAINT contact_attempts_seq_key`,
    );
  }
}
