import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { AppException } from '../../src/common/errors/app.exception';
import { buildDataSourceOptions, runMigrations } from '../../src/database/data-source';
import type { PersonRole } from '../../src/common/domain/directory.types';
import { TargetingService } from '../../src/modules/directory/targeting/targeting.service';
import type { Recipient, TargetQuery } from '../../src/common/domain/targeting.types';
import { createTestDatabase } from '../helpers/database';

/*
 * A small hand-written directory (Sichuan, 汶川县 513221 and neighbours). Sibling codes are chosen
 * to share long prefixes: townships 513221001 / 513221010 / 513221100, villages 513221001001 /
 * 513221001010 / 513221001011 / 513221001100 — a prefix test that is not bounded by the code's
 * level (LIKE '5132210010%', trimmed zeros, numeric ranges…) would mix them up.
 */
const DIVISIONS: [code: string, name: string, level: string, parent: string | null][] = [
  ['50', '重庆市', 'province', null],
  ['51', '四川省', 'province', null],
  ['5132', '阿坝藏族羌族自治州', 'city', '51'],
  ['5133', '甘孜藏族自治州', 'city', '51'],
  ['513221', '汶川县', 'county', '5132'],
  ['513222', '理县', 'county', '5132'],
  ['513301', '康定市', 'county', '5133'],
  ['513221001', '威州镇', 'township', '513221'],
  ['513221010', '绵虒镇', 'township', '513221'],
  ['513221100', '映秀镇', 'township', '513221'],
  ['513222001', '杂谷脑镇', 'township', '513222'],
  ['513301001', '炉城街道', 'township', '513301'],
  ['513221001001', '威州村', 'village', '513221001'],
  ['513221001002', '布瓦村', 'village', '513221001'],
  ['513221001010', '七盘沟村', 'village', '513221001'],
  ['513221001011', '克枯村', 'village', '513221001'],
  ['513221001100', '桑坪村', 'village', '513221001'],
  ['513221010001', '羌锋村', 'village', '513221010'],
  ['513221100001', '渔子溪村', 'village', '513221100'],
  ['513222001001', '朴头村', 'village', '513222001'],
  ['513301001001', '向阳村', 'village', '513301001'],
];

const GRIDS: [code: string, village: string][] = [
  ['513221001001001', '513221001001'],
  ['513221001001002', '513221001001'],
  ['513221001002001', '513221001002'],
  ['513221001010001', '513221001010'],
  ['513221010001001', '513221010001'],
];

/** [external id, role, division code, grid code, supervisor external id] */
const PEOPLE: [string, PersonRole, string, string | null, string | null][] = [
  ['Q1', 'duty_officer', '50', null, null],
  ['Z1', 'duty_officer', '51', null, null],
  ['Y1', 'duty_officer', '5132', null, null],
  ['C1', 'county_responsible', '513221', null, null],
  ['C2', 'technical_manager', '513221', null, 'C1'],
  ['C3', 'duty_officer', '513221', null, 'C1'],
  ['X1', 'county_responsible', '513222', null, null],
  ['W1', 'county_responsible', '513301', null, null],
  ['T1', 'township_responsible', '513221001', null, 'C1'],
  ['T2', 'duty_officer', '513221001', null, 'T1'],
  ['RG1', 'resident_geologist', '513221001', null, 'C2'],
  ['T3', 'township_responsible', '513221010', null, 'C1'],
  ['T4', 'township_responsible', '513221100', null, 'C1'],
  ['V1', 'village_responsible', '513221001001', null, 'T1'],
  ['G1', 'grid_leader', '513221001001', '513221001001001', 'V1'],
  ['G2', 'grid_member', '513221001001', '513221001001001', 'G1'],
  ['M1', 'group_monitor', '513221001001', '513221001001001', 'G1'],
  ['R1', 'resident', '513221001001', '513221001001001', null],
  ['R2', 'resident', '513221001001', '513221001001001', null],
  ['R3', 'resident', '513221001001', '513221001001001', null],
  ['G3', 'grid_leader', '513221001001', '513221001001002', 'V1'],
  ['R4', 'resident', '513221001001', '513221001001002', null],
  ['R5', 'resident', '513221001001', '513221001001002', null],
  ['V2', 'village_responsible', '513221001002', null, 'T1'],
  ['G4', 'grid_member', '513221001002', '513221001002001', 'V2'],
  ['R6', 'resident', '513221001002', '513221001002001', null],
  ['V3', 'village_responsible', '513221001010', null, 'T1'],
  ['G5', 'grid_leader', '513221001010', '513221001010001', 'V3'],
  ['R7', 'resident', '513221001010', '513221001010001', null],
  ['R8', 'resident', '513221001011', null, null],
  ['R13', 'resident', '513221001100', null, null],
  ['V4', 'village_responsible', '513221010001', null, 'T3'],
  ['G6', 'grid_leader', '513221010001', '513221010001001', 'V4'],
  ['A1', 'area_lead', '513221010001', '513221010001001', 'T3'],
  ['R9', 'resident', '513221010001', '513221010001001', null],
  ['R10', 'resident', '513221100001', null, null],
  ['R11', 'resident', '513222001001', null, null],
  ['R12', 'resident', '513301001001', null, null],
];

/** [site code, type, division, threatened, responsible, grids] — HP-1/HP-2 and RZ-1/RZ-2 overlap. */
const SITES: [string, 'hazard_point' | 'risk_zone', string, string[], string[], string[]][] = [
  ['HP-1', 'hazard_point', '513221001001', ['R1', 'R2'], ['V1', 'RG1'], ['513221001001001']],
  ['HP-2', 'hazard_point', '513221001010', ['R7', 'R2'], ['V3', 'RG1'], ['513221001010001']],
  ['RZ-1', 'risk_zone', '513221001', ['R4', 'R9'], ['T1'], ['513221001001002', '513221010001001']],
  ['RZ-2', 'risk_zone', '513221010001', ['R9', 'R10'], ['T1', 'T4'], ['513221010001001']],
];

/** [person, kind, value, priority, verified] — inserted out of priority order on purpose. */
const CONTACTS: [string, string, string, number, string | null][] = [
  ['G1', 'landline', '+868376222001', 3, null],
  ['G1', 'mobile', '+8613800000001', 2, '2026-04-18'],
  ['G1', 'wecom', 'wx-g1', 1, null],
  ['V1', 'satellite', '+870773100001', 2, null],
  ['V1', 'mobile', '+8613800000002', 1, '2026-04-10'],
  ['R1', 'mobile', '+8613800000003', 1, null],
];

const EVERYONE = PEOPLE.map(([ext]) => ext);

const EMPTY: TargetQuery = { areas: [], hazardPoints: [], riskZones: [] };
const q = (partial: Partial<TargetQuery>): TargetQuery => ({ ...EMPTY, ...partial });

describe('TargetingService (real Postgres)', () => {
  let db: { url: string; drop(): Promise<void> };
  let dataSource: DataSource;
  let targeting: TargetingService;

  beforeAll(async () => {
    db = await createTestDatabase('targeting');
    dataSource = new DataSource(buildDataSourceOptions(db.url));
    await dataSource.initialize();
    await runMigrations(dataSource);
    await seed(dataSource);
    targeting = new TargetingService(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  async function streamAll(
    query: TargetQuery,
    batchSize = 3,
  ): Promise<{ recipients: Recipient[]; batches: number[] }> {
    const recipients: Recipient[] = [];
    const batches: number[] = [];
    for await (const batch of targeting.stream(query, { batchSize })) {
      batches.push(batch.length);
      recipients.push(...batch);
    }
    return { recipients, batches };
  }

  /** External ids of the streamed recipients, sorted; fails on a duplicate person. */
  async function targeted(query: TargetQuery): Promise<string[]> {
    const { recipients } = await streamAll(query);
    const ids = recipients.map((r) => r.externalId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await targeting.count(query)).toBe(ids.length);
    return ids.sort();
  }

  const sorted = (ids: string[]) => [...ids].sort();

  describe('areas, at every division level', () => {
    it('province 51: everyone in Sichuan, not Chongqing', async () => {
      expect(await targeted(q({ areas: ['51'] }))).toEqual(
        sorted(EVERYONE.filter((e) => e !== 'Q1')),
      );
    });

    it('city 5132: not the province level, not the other city', async () => {
      expect(await targeted(q({ areas: ['5132'] }))).toEqual(
        sorted(EVERYONE.filter((e) => !['Q1', 'Z1', 'W1', 'R12'].includes(e))),
      );
    });

    it('county 513221: its own staff and everything below, not the sibling county 513222', async () => {
      expect(await targeted(q({ areas: ['513221'] }))).toEqual(
        sorted(EVERYONE.filter((e) => !['Q1', 'Z1', 'Y1', 'X1', 'W1', 'R11', 'R12'].includes(e))),
      );
    });

    it('township 513221001: not its siblings 513221010 / 513221100 nor the county', async () => {
      expect(await targeted(q({ areas: ['513221001'] }))).toEqual(
        sorted([
          'T1',
          'T2',
          'RG1',
          'V1',
          'G1',
          'G2',
          'M1',
          'R1',
          'R2',
          'R3',
          'G3',
          'R4',
          'R5',
          'V2',
          'G4',
          'R6',
          'V3',
          'G5',
          'R7',
          'R8',
          'R13',
        ]),
      );
      expect(await targeted(q({ areas: ['513221010'] }))).toEqual(
        sorted(['T3', 'V4', 'G6', 'A1', 'R9']),
      );
      expect(await targeted(q({ areas: ['513221100'] }))).toEqual(sorted(['T4', 'R10']));
    });

    it('village 513221001001: every grid of it, not the villages 513221001010 / 011 / 100, not the township', async () => {
      expect(await targeted(q({ areas: ['513221001001'] }))).toEqual(
        sorted(['V1', 'G1', 'G2', 'M1', 'R1', 'R2', 'R3', 'G3', 'R4', 'R5']),
      );
      expect(await targeted(q({ areas: ['513221001010'] }))).toEqual(sorted(['V3', 'G5', 'R7']));
      expect(await targeted(q({ areas: ['513221001011'] }))).toEqual(['R8']);
      expect(await targeted(q({ areas: ['513221001100'] }))).toEqual(['R13']);
    });

    it('a known division with nobody in it targets no one', async () => {
      expect(await targeted(q({ areas: ['5133', '513221001002'] }))).toEqual(
        sorted(['W1', 'R12', 'V2', 'G4', 'R6']),
      );
      await dataSource.query(
        `INSERT INTO divisions (code, name, level, parent_code) VALUES ('513221001099', '空村', 'village', '513221001')`,
      );
      try {
        expect(await targeted(q({ areas: ['513221001099'] }))).toEqual([]);
      } finally {
        await dataSource.query(`DELETE FROM divisions WHERE code = '513221001099'`);
      }
    });
  });

  describe('overlaps', () => {
    it('nested and repeated areas count each person once', async () => {
      const county = await targeted(q({ areas: ['513221'] }));
      expect(
        await targeted(q({ areas: ['513221001001', '513221', '513221001', '513221001001'] })),
      ).toEqual(county);
      expect(await targeted(q({ areas: ['513221001001', '513221001'] }))).toEqual(
        await targeted(q({ areas: ['513221001'] })),
      );
    });

    it('areas and sites together: one recipient per person', async () => {
      const { recipients } = await streamAll(
        q({
          areas: ['513221001001', '513221010'],
          hazardPoints: ['HP-1', 'HP-2'],
          riskZones: ['RZ-1', 'RZ-2'],
        }),
        2,
      );
      const ids = recipients.map((r) => r.externalId).sort();
      expect(ids).toEqual(
        sorted([
          // village 513221001001
          'V1',
          'G1',
          'G2',
          'M1',
          'R1',
          'R2',
          'R3',
          'G3',
          'R4',
          'R5',
          // township 513221010
          'T3',
          'V4',
          'G6',
          'A1',
          'R9',
          // sites, beyond the areas
          'RG1',
          'R7',
          'V3',
          'G5',
          'T1',
          'R10',
          'T4',
        ]),
      );
    });
  });

  describe('hazard points and risk zones', () => {
    it('a hazard point: threatened + responsible people, and the staff of its grid (not its other residents)', async () => {
      expect(await targeted(q({ hazardPoints: ['HP-1'] }))).toEqual(
        sorted(['R1', 'R2', 'V1', 'RG1', 'G1', 'G2', 'M1']),
      );
      // R3 lives in the touched grid but is not linked to the site.
    });

    it('two overlapping hazard points (R2 and RG1 in both)', async () => {
      expect(await targeted(q({ hazardPoints: ['HP-1', 'HP-2'] }))).toEqual(
        sorted(['R1', 'R2', 'V1', 'RG1', 'G1', 'G2', 'M1', 'R7', 'V3', 'G5']),
      );
    });

    it('a risk zone touching grids of two townships', async () => {
      expect(await targeted(q({ riskZones: ['RZ-1'] }))).toEqual(
        sorted(['R4', 'R9', 'T1', 'G3', 'G6', 'A1']),
      );
    });

    it('two overlapping risk zones (R9, T1 and grid 513221010001001 in both)', async () => {
      expect(await targeted(q({ riskZones: ['RZ-1', 'RZ-2'] }))).toEqual(
        sorted(['R4', 'R9', 'T1', 'G3', 'G6', 'A1', 'R10', 'T4']),
      );
    });

    it('codes are looked up with their type: a risk zone given as a hazard point reaches no one', async () => {
      expect(await targeted(q({ hazardPoints: ['RZ-1'], riskZones: ['HP-1'] }))).toEqual([]);
    });

    it('grid staff of a touched grid: every non-resident role', async () => {
      await dataSource.query(
        `INSERT INTO people (external_id, name, role, division_code, grid_code)
         VALUES ('D9', 'D9', 'duty_officer', '513221001001', '513221001001001')`,
      );
      try {
        expect(await targeted(q({ hazardPoints: ['HP-1'] }))).toContain('D9');
      } finally {
        await dataSource.query(`DELETE FROM people WHERE external_id = 'D9'`);
      }
    });
  });

  describe('roles', () => {
    it('filter the areas', async () => {
      expect(await targeted(q({ areas: ['513221'], roles: ['grid_leader'] }))).toEqual(
        sorted(['G1', 'G3', 'G5', 'G6']),
      );
      expect(
        await targeted(q({ areas: ['51'], roles: ['county_responsible', 'township_responsible'] })),
      ).toEqual(sorted(['C1', 'X1', 'W1', 'T1', 'T3', 'T4']));
    });

    it('filter the sites and the union', async () => {
      expect(await targeted(q({ hazardPoints: ['HP-1'], roles: ['resident'] }))).toEqual(
        sorted(['R1', 'R2']),
      );
      expect(
        await targeted(
          q({
            areas: ['513221100'],
            riskZones: ['RZ-1'],
            roles: ['township_responsible', 'resident'],
          }),
        ),
      ).toEqual(sorted(['T4', 'R10', 'R4', 'R9', 'T1']));
    });

    it('an empty role list does not filter', async () => {
      expect(await targeted(q({ hazardPoints: ['HP-1'], roles: [] }))).toEqual(
        await targeted(q({ hazardPoints: ['HP-1'] })),
      );
    });

    it('countByRole sums to count', async () => {
      const query = q({ areas: ['513221001'], riskZones: ['RZ-2'] });
      const byRole = await targeting.countByRole(query);
      expect(byRole).toEqual({
        township_responsible: 2, // T1, T4 (RZ-2)
        village_responsible: 3,
        duty_officer: 1,
        grid_leader: 4, // G1, G3, G5; G6 through RZ-2's grid
        grid_member: 2,
        group_monitor: 1,
        area_lead: 1, // A1 through RZ-2's grid
        resident_geologist: 1,
        resident: 11, // 9 in the township, R9 and R10 from RZ-2
      });
      expect(Object.keys(byRole)[0]).toBe('township_responsible');
      const total = Object.values(byRole).reduce((a, b) => a + b, 0);
      expect(total).toBe(await targeting.count(query));
    });
  });

  describe('recipients', () => {
    it('carry the person fields and contacts ordered by priority', async () => {
      const { recipients } = await streamAll(q({ areas: ['513221001001'] }));
      const byExt = new Map(recipients.map((r) => [r.externalId, r]));
      const ids = await dataSource.query(`SELECT id, external_id FROM people`);
      const idOf = new Map<string, string>(
        ids.map((r: { id: string; external_id: string }) => [r.external_id, r.id]),
      );

      expect(byExt.get('G1')).toEqual({
        personId: idOf.get('G1'),
        externalId: 'G1',
        name: '姓名G1',
        role: 'grid_leader',
        divisionCode: '513221001001',
        gridCode: '513221001001001',
        supervisorId: idOf.get('V1'),
        contacts: [
          { kind: 'wecom', value: 'wx-g1', priority: 1, verifiedAt: null },
          { kind: 'mobile', value: '+8613800000001', priority: 2, verifiedAt: '2026-04-18' },
          { kind: 'landline', value: '+868376222001', priority: 3, verifiedAt: null },
        ],
      });
      expect(byExt.get('V1')?.contacts.map((c) => c.kind)).toEqual(['mobile', 'satellite']);
      expect(byExt.get('V1')?.gridCode).toBeNull();
      expect(byExt.get('R3')?.contacts).toEqual([]);
      expect(byExt.get('R3')?.supervisorId).toBeNull();
    });
  });

  describe('count and stream agree', () => {
    const queries: [string, TargetQuery][] = [
      ['province', q({ areas: ['51'] })],
      ['county + sites', q({ areas: ['513221'], hazardPoints: ['HP-1'], riskZones: ['RZ-2'] })],
      [
        'sites + roles',
        q({
          hazardPoints: ['HP-1', 'HP-2'],
          riskZones: ['RZ-1', 'RZ-2'],
          roles: ['resident', 'grid_leader'],
        }),
      ],
      ['everything', q({ areas: ['50', '51'] })],
    ];
    it.each(queries)('%s', async (_name, query) => {
      for (const batchSize of [1, 4, 1000]) {
        const { recipients, batches } = await streamAll(query, batchSize);
        expect(recipients.length).toBe(await targeting.count(query));
        expect(Math.max(...batches)).toBeLessThanOrEqual(batchSize);
        expect(batches.every((n) => n > 0)).toBe(true);
      }
    });

    it('no target: no recipient, no connection taken', async () => {
      expect(await targeting.count(EMPTY)).toBe(0);
      expect(await targeting.countByRole(EMPTY)).toEqual({});
      expect((await streamAll(EMPTY)).recipients).toEqual([]);
    });
  });

  describe('grid codes among the areas', () => {
    it('a grid reaches its residents and staff, not the other grid of the village nor the village chief', async () => {
      expect(await targeted(q({ areas: ['513221001001002'] }))).toEqual(sorted(['G3', 'R4', 'R5']));
      expect(await targeted(q({ areas: ['513221001001001'] }))).toEqual(
        sorted(['G1', 'G2', 'M1', 'R1', 'R2', 'R3']),
      );
    });

    it('a grid with its village, another area and a role filter: one recipient per person', async () => {
      expect(
        await targeted(q({ areas: ['513221001001002', '513221001001', '513221001010001'] })),
      ).toEqual(
        // The village's people (both grids and its chief), and grid 513221001010001 of another village.
        sorted(['V1', 'G1', 'G2', 'M1', 'R1', 'R2', 'R3', 'G3', 'R4', 'R5', 'G5', 'R7']),
      );
      expect(
        await targeted(
          q({ areas: ['513221001001002', '513221001010001'], roles: ['grid_leader'] }),
        ),
      ).toEqual(['G3', 'G5']);
    });

    it('an unknown grid code is listed with the unknown areas', async () => {
      const unknown = await targeting.findUnknownTargets(
        q({ areas: ['513221001001001', '513221001001999', '513221'] }),
      );
      expect(unknown.areas).toEqual(['513221001001999']);
    });
  });

  describe('unknown targets', () => {
    it('lists unknown or mistyped codes and roles, in input order, once', async () => {
      const unknown = await targeting.findUnknownTargets({
        areas: ['513221', '513299', '5132210', 'abc', '513299', '513221001001', ''],
        hazardPoints: ['HP-1', 'RZ-1', 'HP-404'],
        riskZones: ['RZ-2', 'HP-2'],
        roles: ['resident', 'mayor' as PersonRole],
      });
      expect(unknown).toEqual({
        areas: ['513299', '5132210', 'abc', ''],
        hazardPoints: ['RZ-1', 'HP-404'],
        riskZones: ['HP-2'],
        roles: ['mayor'],
      });
      expect(
        await targeting.findUnknownTargets(
          q({ areas: ['51'], hazardPoints: ['HP-2'], riskZones: ['RZ-1'] }),
        ),
      ).toEqual({
        areas: [],
        hazardPoints: [],
        riskZones: [],
        roles: [],
      });
    });

    it('malformed area codes are rejected, not ignored (an empty code would be everyone)', async () => {
      for (const areas of [[''], ['5132210'], ['5132210010'], ['51a2'], ['513221001001 1']]) {
        await expect(targeting.count(q({ areas }))).rejects.toBeInstanceOf(AppException);
        await expect(streamAll(q({ areas }))).rejects.toBeInstanceOf(AppException);
      }
    });
  });

  describe('connections', () => {
    const pool = () => (dataSource.driver as unknown as { master: Pool }).master;
    const checkedOut = () => pool().totalCount - pool().idleCount;
    async function openTransactions(): Promise<number> {
      const [row] = await dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            AND (state LIKE 'idle in transaction%' OR backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)`,
      );
      return row.n;
    }

    it('an early break releases the connection and ends its transaction', async () => {
      expect(checkedOut()).toBe(0);
      let seen = 0;
      let heldWhileReading = 0;
      for await (const batch of targeting.stream(q({ areas: ['51'] }), { batchSize: 2 })) {
        seen += batch.length;
        heldWhileReading = checkedOut();
        expect(await openTransactions()).toBe(1);
        break;
      }
      expect(seen).toBe(2);
      expect(heldWhileReading).toBe(1);
      expect(checkedOut()).toBe(0);
      expect(await openTransactions()).toBe(0);
    });

    it('a consumer that throws gets its error, and the connection is released', async () => {
      await expect(
        (async () => {
          for await (const _batch of targeting.stream(q({ areas: ['51'] }), { batchSize: 1 })) {
            throw new Error('consumer failed');
          }
        })(),
      ).rejects.toThrow('consumer failed');
      expect(checkedOut()).toBe(0);
      expect(await openTransactions()).toBe(0);
    });

    it('many early stops in a row do not exhaust the pool (max 20)', async () => {
      for (let i = 0; i < 30; i++) {
        const iterator = targeting
          .stream(q({ areas: ['513221'] }), { batchSize: 1 })
          [Symbol.asyncIterator]();
        expect((await iterator.next()).done).toBe(false);
        await iterator.return?.(undefined);
      }
      expect(checkedOut()).toBe(0);
      expect(await openTransactions()).toBe(0);
      expect(pool().totalCount).toBeLessThanOrEqual(20);
    });

    it('a session ended by the server between batches fails the stream and is not reused', async () => {
      const before = pool().totalCount;
      // A checked-out pg client without an 'error' listener turns the server's FATAL into an
      // uncaught 'error' event (a process crash outside jest): the stream must listen.
      let streamClient: PoolClient | undefined;
      const onAcquire = (client: PoolClient) => {
        streamClient ??= client;
      };
      pool().on('acquire', onAcquire);
      const stream = targeting.stream(q({ areas: ['513221'] }), {
        batchSize: 1,
        idleTimeoutMs: 100,
      });
      let seen = 0;
      await expect(
        (async () => {
          for await (const batch of stream) {
            pool().off('acquire', onAcquire);
            expect(streamClient?.listenerCount('error')).toBeGreaterThan(0);
            seen += batch.length;
            // A slow consumer: the server ends the idle-in-transaction session meanwhile.
            if (seen === 2) await new Promise((resolve) => setTimeout(resolve, 600));
          }
        })(),
      ).rejects.toThrow();
      expect(seen).toBeGreaterThanOrEqual(2);
      expect(seen).toBeLessThan(await targeting.count(q({ areas: ['513221'] })));
      expect(checkedOut()).toBe(0);
      // The broken connection was destroyed, not returned to the pool.
      expect(pool().totalCount).toBeLessThanOrEqual(before);
      expect(await targeting.count(q({ areas: ['5132'] }))).toBeGreaterThan(0);
      expect(await openTransactions()).toBe(0);
    });

    it('reads one snapshot from the first batch to the last', async () => {
      const query = q({ areas: ['513221001001'] });
      const expected = await targeting.count(query);
      const seen: string[] = [];
      try {
        for await (const batch of targeting.stream(query, { batchSize: 2 })) {
          if (!seen.length) {
            await dataSource.query(
              `INSERT INTO people (external_id, name, role, division_code) VALUES ('NEW1', 'NEW1', 'resident', '513221001001')`,
            );
            await dataSource.query(
              `DELETE FROM contact_points WHERE person_id = (SELECT id FROM people WHERE external_id = 'G1')`,
            );
          }
          seen.push(...batch.map((r) => r.externalId));
          // Read before or after the DELETE, G1 has its three contacts in the stream's snapshot.
          const g1 = batch.find((r) => r.externalId === 'G1');
          if (g1) expect(g1.contacts).toHaveLength(3);
        }
        expect(seen).toContain('G1');
        expect(seen).toHaveLength(expected);
        expect(seen).not.toContain('NEW1');
        expect(await targeting.count(query)).toBe(expected + 1);
      } finally {
        await dataSource.query(`DELETE FROM people WHERE external_id = 'NEW1'`);
        for (const [ext, kind, value, priority, verified] of CONTACTS.filter(
          ([ext]) => ext === 'G1',
        )) {
          await dataSource.query(
            `INSERT INTO contact_points (person_id, kind, value, priority, verified_at)
             SELECT id, $2, $3, $4, $5 FROM people WHERE external_id = $1 ON CONFLICT DO NOTHING`,
            [ext, kind, value, priority, verified],
          );
        }
      }
    });

    it('a stream read concurrently with others uses its own connection', async () => {
      const a = targeting
        .stream(q({ areas: ['513221'] }), { batchSize: 5 })
        [Symbol.asyncIterator]();
      const b = targeting.stream(q({ areas: ['51'] }), { batchSize: 5 })[Symbol.asyncIterator]();
      await a.next();
      await b.next();
      expect(checkedOut()).toBe(2);
      expect(await targeting.count(q({ areas: ['51'] }))).toBe(EVERYONE.length - 1);
      let rest = 0;
      for (let r = await a.next(); !r.done; r = await a.next()) rest += r.value.length;
      expect(rest).toBe((await targeting.count(q({ areas: ['513221'] }))) - 5);
      await b.return?.(undefined);
      expect(checkedOut()).toBe(0);
    });
  });
});

async function seed(ds: DataSource): Promise<void> {
  await ds.transaction(async (m) => {
    for (const [code, name, level, parent] of DIVISIONS) {
      await m.query(
        `INSERT INTO divisions (code, name, level, parent_code) VALUES ($1, $2, $3, $4)`,
        [code, name, level, parent],
      );
    }
    for (const [code, village] of GRIDS) {
      await m.query(`INSERT INTO grids (code, name, village_code) VALUES ($1, $2, $3)`, [
        code,
        `网格${code.slice(12)}`,
        village,
      ]);
    }
    for (const [ext, role, division, grid] of PEOPLE) {
      await m.query(
        `INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES ($1, $2, $3, $4, $5)`,
        [ext, `姓名${ext}`, role, division, grid],
      );
    }
    for (const [ext, , , , supervisor] of PEOPLE) {
      if (!supervisor) continue;
      await m.query(
        `UPDATE people SET supervisor_id = (SELECT id FROM people WHERE external_id = $2) WHERE external_id = $1`,
        [ext, supervisor],
      );
    }
    for (const [code, type, division, threatened, responsible, grids] of SITES) {
      await m.query(
        `INSERT INTO hazard_sites (code, type, name, hazard, division_code, threatened_people) VALUES ($1, $2, $3, 'landslide', $4, $5)`,
        [code, type, `点位${code}`, division, threatened.length],
      );
      for (const [relation, people] of [
        ['threatened', threatened],
        ['responsible', responsible],
      ] as const) {
        await m.query(
          `INSERT INTO hazard_site_people (site_code, person_id, relation)
           SELECT $1, id, $2 FROM people WHERE external_id = ANY ($3::text[])`,
          [code, relation, people],
        );
      }
      await m.query(
        `INSERT INTO hazard_site_grids (site_code, grid_code) SELECT $1, unnest($2::varchar[])`,
        [code, grids],
      );
    }
    for (const [ext, kind, value, priority, verified] of CONTACTS) {
      await m.query(
        `INSERT INTO contact_points (person_id, kind, value, priority, verified_at)
         SELECT id, $2, $3, $4, $5 FROM people WHERE external_id = $1`,
        [ext, kind, value, priority, verified],
      );
    }
  });
}
