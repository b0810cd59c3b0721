import { DataSource } from 'typeorm';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import { MIGRATIONS } from '../../src/database/migrations';
import { createTestDatabase } from '../helpers/database';

const tables = async (ds: DataSource) =>
  (
    await ds.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
    )
  ).map((r) => r.table_name);

describe('migrations', () => {
  it('apply on an empty database, are idempotent, and revert all the way down', async () => {
    const db = await createTestDatabase();
    const ds = new DataSource(buildDataSourceOptions(db.url));
    await ds.initialize();
    try {
      const applied = await runMigrations(ds);
      expect(applied).toHaveLength(MIGRATIONS.length);
      expect(await tables(ds)).toEqual(
        expect.arrayContaining([
          'divisions',
          'grids',
          'people',
          'contact_points',
          'hazard_sites',
          'api_tokens',
        ]),
      );
      // Two processes starting together: the second finds nothing to do.
      expect(await runMigrations(ds)).toEqual([]);

      for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
      expect(await tables(ds)).toEqual([]);

      // And up again, so that down really is the inverse of up.
      expect(await runMigrations(ds)).toHaveLength(MIGRATIONS.length);
    } finally {
      await ds.destroy();
      await db.drop();
    }
  });

  it('enforce the directory rules in the schema itself', async () => {
    const db = await createTestDatabase();
    const ds = new DataSource(buildDataSourceOptions(db.url));
    await ds.initialize();
    try {
      await runMigrations(ds);
      await ds.query(
        `INSERT INTO divisions (code, name, level) VALUES ('51', '四川省', 'province')`,
      );
      // A code that does not extend its parent's code is refused.
      await expect(
        ds.query(
          `INSERT INTO divisions (code, name, level, parent_code) VALUES ('5232', 'x', 'city', '51')`,
        ),
      ).rejects.toThrow(/check/i);
      await ds.query(
        `INSERT INTO divisions (code, name, level, parent_code) VALUES ('5132', '阿坝州', 'city', '51')`,
      );
      // A grid must sit under a 12-digit village code.
      await expect(
        ds.query(`INSERT INTO grids (code, name, village_code) VALUES ('5132001', 'g', '5132')`),
      ).rejects.toThrow(/check/i);
    } finally {
      await ds.destroy();
      await db.drop();
    }
  });
});
