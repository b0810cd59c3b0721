import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Warnings with their versions, idempotency keys, deliveries, contact attempts, group sends, tasks. */
export class WarningsDispatch1763884800000 implements MigrationInterface {
  name = 'WarningsDispatch1763884800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE warnings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind text NOT NULL CHECK (kind IN ('meteorological_risk', 'imminent')),
        status text NOT NULL CHECK (status IN ('actual', 'exercise', 'test')),
        state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cancelled', 'expired')),
        current_version int NOT NULL DEFAULT 1,
        issuer_token_id uuid,
        issuer_name text NOT NULL,
        issuer_division varchar(12) COLLATE "C" NOT NULL,
        source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'cap')),
        recipients int NOT NULL DEFAULT 0,
        fanout_done_at timestamptz,
        first_contact_eta timestamptz,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        cancelled_at timestamptz,
        expired_at timestamptz
      )`);
    await q.query(`CREATE INDEX warnings_state_idx ON warnings (state, expires_at)`);

    await q.query(`
      CREATE TABLE warning_versions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        version int NOT NULL,
        national_id char(31) NOT NULL UNIQUE,
        msg_type text NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),
        level text NOT NULL CHECK (level IN ('red', 'orange', 'yellow', 'blue')),
        audience text[] NOT NULL,
        areas text[] NOT NULL DEFAULT '{}',
        hazard_points text[] NOT NULL DEFAULT '{}',
        risk_zones text[] NOT NULL DEFAULT '{}',
        content jsonb NOT NULL,
        sent_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (warning_id, version)
      )`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        principal_id uuid NOT NULL,
        key text NOT NULL,
        request_hash char(64) NOT NULL,
        status_code int NOT NULL,
        response jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (principal_id, key)
      )`);

    await q.query(`
      CREATE TABLE deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        person_id uuid NOT NULL REFERENCES people(id),
        version int NOT NULL,
        msg_type text NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),
        state text NOT NULL DEFAULT 'pending'
          CHECK (state IN ('pending', 'sent', 'delivered', 'heard', 'confirmed', 'declined', 'unreachable', 'cancelled')),
        role text NOT NULL,
        division_code varchar(12) COLLATE "C" NOT NULL,
        grid_code varchar(32) COLLATE "C",
        created_at timestamptz NOT NULL DEFAULT now(),
        first_attempt_at timestamptz,
        delivered_at timestamptz,
        confirmed_at timestamptz,
        UNIQUE (warning_id, person_id)
      )`);
    await q.query(`CREATE INDEX deliveries_warning_state_idx ON deliveries (warning_id, state)`);
    await q.query(`CREATE INDEX deliveries_person_idx ON deliveries (person_id, created_at DESC)`);

    await q.query(`
      CREATE TABLE manual_tasks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        type text NOT NULL CHECK (type IN ('door_to_door', 'gong_and_whistle')),
        grid_code varchar(32) COLLATE "C" NOT NULL REFERENCES grids(code),
        assignee_id uuid REFERENCES people(id),
        subject_delivery_id uuid REFERENCES deliveries(id),
        reason text,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        completed_by uuid,
        outcome text,
        note text
      )`);
    await q.query(`CREATE INDEX manual_tasks_grid_idx ON manual_tasks (grid_code, status)`);

    await q.query(`
      CREATE TABLE contact_attempts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id uuid NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        version int NOT NULL,
        msg_type text NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),
        seq int NOT NULL,
        -- manual channel: the door-to-door / gong-and-whistle task this SMS assigns
        task_id uuid REFERENCES manual_tasks(id) ON DELETE CASCADE,
        channel text NOT NULL CHECK (channel IN ('sms', 'voice', 'email', 'manual')),
        contact_kind text NOT NULL,
        address text NOT NULL,
        priority int NOT NULL,
        status text NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'completed', 'failed', 'cancelled')),
        outcome text,
        provider text,
        provider_id text,
        error_code text,
        error_message text,
        tries int NOT NULL DEFAULT 0,
        segments int,
        duration_s int,
        heard boolean NOT NULL DEFAULT false,
        digits text,
        queued_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        delivered_at timestamptz,
        answered_at timestamptz,
        completed_at timestamptz,
        failed_at timestamptz,
        UNIQUE (delivery_id, version, msg_type, seq)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX contact_attempts_provider_idx ON contact_attempts (provider, provider_id) WHERE provider_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX contact_attempts_delivery_idx ON contact_attempts (delivery_id)`);
    await q.query(
      `CREATE INDEX contact_attempts_queued_idx ON contact_attempts (channel, status) WHERE status IN ('queued', 'sending')`,
    );

    await q.query(`
      CREATE TABLE group_sends (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        version int NOT NULL,
        msg_type text NOT NULL CHECK (msg_type IN ('alert', 'update', 'cancel')),
        channel text NOT NULL CHECK (channel IN ('wecom', 'dingtalk', 'feishu', 'broadcast')),
        target_code text NOT NULL,
        part int NOT NULL DEFAULT 0,
        mentions uuid[] NOT NULL DEFAULT '{}',
        terminal_codes text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
        provider_id text,
        error_code text,
        error_message text,
        tries int NOT NULL DEFAULT 0,
        queued_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        failed_at timestamptz,
        UNIQUE (warning_id, version, msg_type, channel, target_code, part)
      )`);
    await q.query(`
      CREATE TABLE broadcast_receipts (
        group_send_id uuid NOT NULL REFERENCES group_sends(id) ON DELETE CASCADE,
        terminal_code text NOT NULL,
        status text NOT NULL,
        played_at timestamptz,
        repeat int,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_send_id, terminal_code)
      )`);

    await q.query(`
      CREATE TABLE inbound_messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider text NOT NULL,
        provider_id text NOT NULL,
        from_address text NOT NULL,
        body text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (provider, provider_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'inbound_messages',
      'broadcast_receipts',
      'group_sends',
      'contact_attempts',
      'manual_tasks',
      'deliveries',
      'idempotency_keys',
      'warning_versions',
      'warnings',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
