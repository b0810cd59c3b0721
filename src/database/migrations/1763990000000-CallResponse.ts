import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * 叫应: answers kept apart from attempts, escalation policies, each delivery's place in its chain,
 * and escalation edges (who was escalated to whom, when, why).
 */
export class CallResponse1763990000000 implements MigrationInterface {
  name = 'CallResponse1763990000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE answers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id uuid NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        attempt_id uuid REFERENCES contact_attempts(id) ON DELETE SET NULL,
        channel text NOT NULL CHECK (channel IN ('voice', 'sms', 'link', 'on_site')),
        kind text NOT NULL CHECK (kind IN ('confirm', 'help', 'ambiguous')),
        raw_input text,
        -- who recorded it when it was not the person themselves (on-site confirmation)
        recorded_by uuid,
        reason text,
        -- provider message / call id or link token: the same answer delivered twice is one row
        dedupe_key text NOT NULL UNIQUE,
        effective boolean NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX answers_delivery_idx ON answers (delivery_id, received_at)`);

    await q.query(`
      CREATE TABLE escalation_policies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        kinds text[] NOT NULL DEFAULT '{}',
        levels text[] NOT NULL DEFAULT '{}',
        statuses text[] NOT NULL DEFAULT '{}',
        roles text[] NOT NULL DEFAULT '{}',
        -- lower wins when several policies match
        rank int NOT NULL DEFAULT 100,
        steps jsonb NOT NULL,
        on_exhausted jsonb NOT NULL,
        group_rule_seconds int,
        reach_deadline_seconds int NOT NULL DEFAULT 300,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    for (const p of DEFAULT_POLICIES) {
      await q.query(
        `INSERT INTO escalation_policies (name, kinds, levels, statuses, roles, rank, steps, on_exhausted, group_rule_seconds, reach_deadline_seconds)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          p.name,
          p.kinds,
          p.levels,
          p.statuses,
          p.roles,
          p.rank,
          JSON.stringify(p.steps),
          JSON.stringify(p.onExhausted),
          p.groupRuleSeconds,
          p.reachDeadlineSeconds,
        ],
      );
    }

    await q.query(`
      ALTER TABLE deliveries
        ADD COLUMN policy_id uuid REFERENCES escalation_policies(id),
        ADD COLUMN step int NOT NULL DEFAULT 0,
        ADD COLUMN step_started_at timestamptz,
        ADD COLUMN not_woken_at timestamptz,
        ADD COLUMN escalated_from uuid REFERENCES deliveries(id),
        ADD COLUMN escalation_reason text,
        ADD COLUMN answered_attempt_id uuid REFERENCES contact_attempts(id) ON DELETE SET NULL,
        ADD COLUMN answer_channel text,
        ADD COLUMN heard_at timestamptz`);
    // What an attempt carries: the warning itself, or an escalation notice about someone else.
    await q.query(
      `ALTER TABLE contact_attempts ADD COLUMN purpose text NOT NULL DEFAULT 'warning' CHECK (purpose IN ('warning', 'escalation'))`,
    );
    await q.query(
      `CREATE INDEX deliveries_not_woken_idx ON deliveries (warning_id) WHERE not_woken_at IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE escalations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        warning_id uuid NOT NULL REFERENCES warnings(id) ON DELETE CASCADE,
        from_delivery_id uuid REFERENCES deliveries(id) ON DELETE CASCADE,
        to_delivery_id uuid REFERENCES deliveries(id) ON DELETE CASCADE,
        task_id uuid REFERENCES manual_tasks(id) ON DELETE CASCADE,
        reason text NOT NULL CHECK (reason IN ('not_woken', 'help_requested', 'group_silent')),
        detail text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (from_delivery_id, to_delivery_id, reason)
      )`);
    await q.query(`CREATE INDEX escalations_warning_idx ON escalations (warning_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE escalations`);
    await q.query(`ALTER TABLE contact_attempts DROP COLUMN purpose`);
    await q.query(`
      ALTER TABLE deliveries
        DROP COLUMN policy_id, DROP COLUMN step, DROP COLUMN step_started_at, DROP COLUMN not_woken_at,
        DROP COLUMN escalated_from, DROP COLUMN escalation_reason, DROP COLUMN answered_attempt_id,
        DROP COLUMN answer_channel, DROP COLUMN heard_at`);
    await q.query(`DROP TABLE escalation_policies`);
    await q.query(`DROP TABLE answers`);
  }
}

/**
 * The default escalation policies as this migration inserts them: a frozen copy, so that replaying
 * the migration never depends on today's code (later migrations change them).
 */
const DEFAULT_POLICIES: {
  name: string;
  kinds: string[];
  levels: string[];
  statuses: string[];
  roles: string[];
  rank: number;
  steps: unknown[];
  onExhausted: unknown;
  groupRuleSeconds: number | null;
  reachDeadlineSeconds: number | null;
}[] = [
  {
    name: '临灾预警-责任人',
    kinds: ['imminent'],
    levels: [],
    statuses: [],
    roles: [
      'county_responsible',
      'township_responsible',
      'village_responsible',
      'duty_officer',
      'grid_leader',
      'grid_member',
      'group_monitor',
      'area_lead',
      'resident_geologist',
      'technical_manager',
    ],
    rank: 10,
    steps: [
      {
        channels: ['sms', 'voice', 'email'],
        waitSeconds: 300,
        voiceRetries: {
          times: 3,
          withinSeconds: 300,
        },
      },
    ],
    onExhausted: {
      notWoken: true,
      supervisor: true,
      doorToDoor: true,
    },
    groupRuleSeconds: 600,
    reachDeadlineSeconds: 300,
  },
  {
    name: '红橙预警-责任人',
    kinds: [],
    levels: ['red', 'orange'],
    statuses: [],
    roles: [
      'county_responsible',
      'township_responsible',
      'village_responsible',
      'duty_officer',
      'grid_leader',
      'grid_member',
      'group_monitor',
      'area_lead',
      'resident_geologist',
      'technical_manager',
    ],
    rank: 20,
    steps: [
      {
        channels: ['sms', 'voice', 'email'],
        waitSeconds: 300,
        voiceRetries: {
          times: 3,
          withinSeconds: 300,
        },
      },
    ],
    onExhausted: {
      notWoken: true,
      supervisor: true,
      doorToDoor: true,
    },
    groupRuleSeconds: 600,
    reachDeadlineSeconds: 300,
  },
  {
    name: '黄蓝预警-责任人',
    kinds: [],
    levels: ['yellow', 'blue'],
    statuses: [],
    roles: [
      'county_responsible',
      'township_responsible',
      'village_responsible',
      'duty_officer',
      'grid_leader',
      'grid_member',
      'group_monitor',
      'area_lead',
      'resident_geologist',
      'technical_manager',
    ],
    rank: 30,
    steps: [
      {
        channels: ['sms', 'email'],
        waitSeconds: 900,
      },
      {
        channels: ['sms'],
        waitSeconds: 900,
      },
    ],
    onExhausted: {
      notWoken: true,
      supervisor: true,
      doorToDoor: false,
    },
    groupRuleSeconds: 1800,
    reachDeadlineSeconds: 300,
  },
  {
    name: '临灾预警-居民',
    kinds: ['imminent'],
    levels: [],
    statuses: [],
    roles: ['resident'],
    rank: 40,
    steps: [
      {
        channels: ['sms', 'voice'],
        waitSeconds: 600,
        voiceRetries: {
          times: 3,
          withinSeconds: 300,
        },
      },
    ],
    onExhausted: {
      notWoken: false,
      supervisor: false,
      doorToDoor: true,
    },
    groupRuleSeconds: null,
    reachDeadlineSeconds: 600,
  },
  {
    name: '居民',
    kinds: [],
    levels: [],
    statuses: [],
    roles: ['resident'],
    rank: 50,
    steps: [
      {
        channels: ['sms'],
        waitSeconds: 3600,
      },
    ],
    onExhausted: {
      notWoken: false,
      supervisor: false,
      doorToDoor: false,
    },
    groupRuleSeconds: null,
    reachDeadlineSeconds: 1800,
  },
  {
    name: '兜底',
    kinds: [],
    levels: [],
    statuses: [],
    roles: [],
    rank: 1000,
    steps: [
      {
        channels: ['sms', 'email'],
        waitSeconds: 900,
      },
    ],
    onExhausted: {
      notWoken: true,
      supervisor: false,
      doorToDoor: false,
    },
    groupRuleSeconds: null,
    reachDeadlineSeconds: 300,
  },
];
