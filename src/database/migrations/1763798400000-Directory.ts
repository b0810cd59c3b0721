import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The directory (places, people, contacts, targets, robots, loudspeakers) and API tokens. */
export class Directory1763798400000 implements MigrationInterface {
  name = 'Directory1763798400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE divisions (
        code varchar(12) COLLATE "C" PRIMARY KEY CHECK (code ~ '^[0-9]+$' AND length(code) IN (2, 4, 6, 9, 12)),
        name text NOT NULL,
        level text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
        parent_code varchar(12) COLLATE "C" REFERENCES divisions(code),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (parent_code IS NULL OR starts_with(code, parent_code))
      )`);
    await q.query(`CREATE INDEX divisions_parent_idx ON divisions (parent_code)`);

    await q.query(`
      CREATE TABLE grids (
        code varchar(32) COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        village_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (length(village_code) = 12 AND starts_with(code, village_code) AND length(code) > 12)
      )`);
    await q.query(`CREATE INDEX grids_village_idx ON grids (village_code)`);

    await q.query(`
      CREATE TABLE people (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        external_id text NOT NULL UNIQUE,
        name text NOT NULL,
        role text NOT NULL,
        division_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        grid_code varchar(32) COLLATE "C" REFERENCES grids(code),
        supervisor_id uuid REFERENCES people(id) ON DELETE SET NULL,
        title text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (supervisor_id IS NULL OR supervisor_id <> id)
      )`);
    // Range scans on division_code (C collation) serve prefix targeting at every level.
    await q.query(`CREATE INDEX people_division_idx ON people (division_code, role)`);
    await q.query(`CREATE INDEX people_grid_idx ON people (grid_code) WHERE grid_code IS NOT NULL`);
    await q.query(`CREATE INDEX people_role_idx ON people (role)`);
    await q.query(
      `CREATE INDEX people_supervisor_idx ON people (supervisor_id) WHERE supervisor_id IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE contact_points (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        person_id uuid NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('mobile', 'landline', 'satellite', 'wecom', 'dingtalk', 'feishu', 'email')),
        value text NOT NULL,
        priority int NOT NULL,
        verified_at date,
        UNIQUE (person_id, kind, value)
      )`);
    await q.query(`CREATE INDEX contact_points_person_idx ON contact_points (person_id, priority)`);
    // Inbound SMS replies are matched to people by number.
    await q.query(`CREATE INDEX contact_points_value_idx ON contact_points (value)`);

    await q.query(`
      CREATE TABLE hazard_sites (
        code varchar(64) COLLATE "C" PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('hazard_point', 'risk_zone')),
        name text NOT NULL,
        hazard text NOT NULL,
        division_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        latitude double precision CHECK (latitude BETWEEN -90 AND 90),
        longitude double precision CHECK (longitude BETWEEN -180 AND 180),
        threatened_people int NOT NULL DEFAULT 0 CHECK (threatened_people >= 0),
        threatened_households int NOT NULL DEFAULT 0 CHECK (threatened_households >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX hazard_sites_division_idx ON hazard_sites (division_code)`);
    await q.query(`
      CREATE TABLE hazard_site_grids (
        site_code varchar(64) COLLATE "C" NOT NULL REFERENCES hazard_sites(code) ON DELETE CASCADE,
        grid_code varchar(32) COLLATE "C" NOT NULL REFERENCES grids(code) ON DELETE CASCADE,
        PRIMARY KEY (site_code, grid_code)
      )`);
    await q.query(`
      CREATE TABLE hazard_site_people (
        site_code varchar(64) COLLATE "C" NOT NULL REFERENCES hazard_sites(code) ON DELETE CASCADE,
        person_id uuid NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        relation text NOT NULL CHECK (relation IN ('threatened', 'responsible')),
        PRIMARY KEY (site_code, person_id, relation)
      )`);
    await q.query(`CREATE INDEX hazard_site_people_person_idx ON hazard_site_people (person_id)`);

    await q.query(`
      CREATE TABLE group_robots (
        code varchar(64) COLLATE "C" PRIMARY KEY,
        platform text NOT NULL CHECK (platform IN ('wecom', 'dingtalk', 'feishu')),
        name text NOT NULL,
        division_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        grid_code varchar(32) COLLATE "C" REFERENCES grids(code),
        webhook_url_encrypted text NOT NULL,
        secret_encrypted text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX group_robots_division_idx ON group_robots (division_code)`);
    await q.query(
      `CREATE INDEX group_robots_grid_idx ON group_robots (grid_code) WHERE grid_code IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE broadcast_terminals (
        code varchar(64) COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        division_code varchar(12) COLLATE "C" NOT NULL REFERENCES divisions(code),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX broadcast_terminals_division_idx ON broadcast_terminals (division_code)`,
    );

    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'duty_officer', 'auditor', 'grid_member')),
        jurisdiction varchar(12) COLLATE "C",
        grid_code varchar(32) COLLATE "C",
        token_hash char(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        last_used_at timestamptz,
        CHECK (role <> 'duty_officer' OR jurisdiction IS NOT NULL),
        CHECK (role <> 'grid_member' OR grid_code IS NOT NULL)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'api_tokens',
      'broadcast_terminals',
      'group_robots',
      'hazard_site_people',
      'hazard_site_grids',
      'hazard_sites',
      'contact_points',
      'people',
      'grids',
      'divisions',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
