import {
  GOOD_FIXTURES,
  importFixture,
  type ImportHarness,
  openImportHarness,
  readFixture,
  rejection,
  rowsAndFields,
  snapshot,
} from '../fixtures/import/harness';

describe('directory import (real Postgres)', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await openImportHarness('import');
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('a good file of every kind', () => {
    it('writes each kind and reports what it inserted', async () => {
      const results = [];
      for (const [kind, name] of GOOD_FIXTURES)
        results.push(await importFixture(h.imports, kind, name));
      expect(results).toEqual([
        { kind: 'divisions', rows: 8, inserted: 8, updated: 0, unchanged: 0 },
        { kind: 'grids', rows: 4, inserted: 4, updated: 0, unchanged: 0 },
        { kind: 'people', rows: 6, inserted: 6, updated: 0, unchanged: 0 },
        { kind: 'people', rows: 3, inserted: 3, updated: 0, unchanged: 0 },
        { kind: 'contacts', rows: 5, inserted: 5, updated: 0, unchanged: 0 },
        { kind: 'risk-zones', rows: 2, inserted: 2, updated: 0, unchanged: 0 },
        { kind: 'hazard-points', rows: 2, inserted: 2, updated: 0, unchanged: 0 },
        { kind: 'robots', rows: 3, inserted: 3, updated: 0, unchanged: 0 },
        { kind: 'broadcast-terminals', rows: 3, inserted: 3, updated: 0, unchanged: 0 },
      ]);
    });

    it('derives division levels and parents from the codes, parents listed after children', async () => {
      const rows = await h.ds.query(`SELECT code, level, parent_code FROM divisions ORDER BY code`);
      expect(rows).toEqual([
        { code: '51', level: 'province', parent_code: null },
        { code: '5132', level: 'city', parent_code: '51' },
        { code: '513221', level: 'county', parent_code: '5132' },
        { code: '513221100', level: 'township', parent_code: '513221' },
        { code: '513221100001', level: 'village', parent_code: '513221100' },
        { code: '513221100002', level: 'village', parent_code: '513221100' },
        { code: '513221101', level: 'township', parent_code: '513221' },
        { code: '513221101001', level: 'village', parent_code: '513221101' },
      ]);
    });

    it('puts every grid under a village whose code prefixes its own', async () => {
      const rows = await h.ds.query(`
        SELECT g.code, g.village_code, d.level FROM grids g JOIN divisions d ON d.code = g.village_code
        ORDER BY g.code`);
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        expect(row.level).toBe('village');
        expect(row.code.startsWith(row.village_code)).toBe(true);
      }
    });

    it('resolves supervisors named later in the same file', async () => {
      const rows = await h.ds.query(`
        SELECT p.external_id, s.external_id AS supervisor
        FROM people p LEFT JOIN people s ON s.id = p.supervisor_id
        WHERE p.role <> 'resident' ORDER BY p.external_id`);
      expect(rows).toEqual([
        { external_id: 'WC-CR-001', supervisor: 'WC-DO-001' },
        { external_id: 'WC-DO-001', supervisor: null },
        { external_id: 'WC-GL-001', supervisor: 'WC-VR-001' },
        { external_id: 'WC-GM-001', supervisor: 'WC-GL-001' },
        { external_id: 'WC-TR-100', supervisor: 'WC-CR-001' },
        { external_id: 'WC-VR-001', supervisor: 'WC-TR-100' },
      ]);
      const [resident] = await h.ds.query(
        `SELECT role FROM people WHERE external_id = 'WC-RS-003'`,
      );
      expect(resident.role).toBe('resident'); // given as 居民
    });

    it('stores phones as E.164 and contact points in CONTACT_KINDS order', async () => {
      const contacts = async (id: string) =>
        h.ds.query(
          `SELECT c.kind, c.value, c.priority, c.verified_at::text AS verified_at
           FROM contact_points c JOIN people p ON p.id = c.person_id
           WHERE p.external_id = $1 ORDER BY c.priority`,
          [id],
        );
      expect(await contacts('WC-TR-100')).toEqual([
        { kind: 'mobile', value: '+8613890001003', priority: 1, verified_at: '2025-04-02' },
        { kind: 'satellite', value: '+8617400123456', priority: 2, verified_at: '2025-04-02' },
        { kind: 'wecom', value: 'zhangwei', priority: 3, verified_at: '2025-04-02' },
      ]);
      expect(await contacts('WC-CR-001')).toEqual([
        { kind: 'mobile', value: '+8613890001004', priority: 1, verified_at: null },
        { kind: 'landline', value: '+868376222001', priority: 2, verified_at: null },
        { kind: 'dingtalk', value: 'ding_liuyang', priority: 3, verified_at: null },
        { kind: 'email', value: 'liuyang@wenchuan.gov.cn', priority: 4, verified_at: null },
      ]);
      // Two mobiles in one cell.
      expect(await contacts('WC-GM-001')).toEqual([
        { kind: 'mobile', value: '+8613890001006', priority: 1, verified_at: null },
        { kind: 'mobile', value: '+8613990001006', priority: 2, verified_at: null },
      ]);
      // From the contacts file: without a priority, each goes after the person's others.
      expect(await contacts('WC-RS-001')).toEqual([
        { kind: 'mobile', value: '+8613890001007', priority: 1, verified_at: '2025-04-10' },
        { kind: 'landline', value: '+868376225555', priority: 2, verified_at: null },
      ]);
      expect(await contacts('WC-RS-002')).toEqual([
        { kind: 'email', value: 'zhouqiang@163.com', priority: 9, verified_at: null },
        { kind: 'mobile', value: '+8615890001008', priority: 10, verified_at: '2025-04-10' },
      ]);
    });

    it('links sites to their grids, threatened residents and responsible persons', async () => {
      const sites = await h.ds.query(`
        SELECT s.code, s.type, s.hazard, s.division_code, s.latitude, s.threatened_people,
          (SELECT string_agg(grid_code, ';' ORDER BY grid_code) FROM hazard_site_grids g WHERE g.site_code = s.code) AS grids,
          (SELECT string_agg(p.external_id, ';' ORDER BY p.external_id) FROM hazard_site_people l
             JOIN people p ON p.id = l.person_id WHERE l.site_code = s.code AND l.relation = 'threatened') AS threatened,
          (SELECT string_agg(p.external_id, ';' ORDER BY p.external_id) FROM hazard_site_people l
             JOIN people p ON p.id = l.person_id WHERE l.site_code = s.code AND l.relation = 'responsible') AS responsible
        FROM hazard_sites s ORDER BY s.code`);
      expect(sites).toEqual([
        {
          code: 'HP-513221-001',
          type: 'hazard_point',
          hazard: 'landslide',
          division_code: '513221100001',
          latitude: 31.0612,
          threatened_people: 35,
          grids: '513221100001001;513221100001002',
          threatened: 'WC-RS-001;WC-RS-002',
          responsible: 'WC-GM-001;WC-VR-001',
        },
        {
          code: 'HP-513221-002',
          type: 'hazard_point',
          hazard: 'collapse', // given as 崩塌
          division_code: '513221101001',
          latitude: 31.0201,
          threatened_people: 8,
          grids: '513221101001001',
          threatened: 'WC-RS-003',
          responsible: 'WC-GM-001',
        },
        {
          code: 'RZ-513221-001',
          type: 'risk_zone',
          hazard: 'debris_flow',
          division_code: '513221100',
          latitude: null,
          threatened_people: 120,
          grids: '513221100002001',
          threatened: 'WC-RS-002',
          responsible: 'WC-TR-100;WC-VR-001',
        },
        {
          code: 'RZ-513221-002',
          type: 'risk_zone',
          hazard: 'ground_subsidence', // given as 地面塌陷
          division_code: '513221101001',
          latitude: 31.02,
          threatened_people: 0,
          grids: null,
          threatened: null,
          responsible: null,
        },
      ]);
    });

    it('stores robot webhooks and secrets encrypted, never in clear', async () => {
      const rows = await h.ds.query(`SELECT * FROM group_robots ORDER BY code`);
      const table = JSON.stringify(rows);
      for (const clear of [
        'access_token=0123456789abcdef',
        'SEC0123456789abcdef',
        'key=693a91f6',
        'fs-secret-Ab12Cd34Ef56',
        'open.feishu.cn',
        'oapi.dingtalk.com',
      ]) {
        expect(table).not.toContain(clear);
      }
      const byCode = Object.fromEntries(rows.map((r: Record<string, string>) => [r.code, r]));
      expect(byCode['RB-513221100'].webhook_url_encrypted).toMatch(/^v1:/);
      expect(h.secretBox.decrypt(byCode['RB-513221100'].secret_encrypted)).toBe(
        'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      );
      expect(h.secretBox.decrypt(byCode['RB-513221100001'].webhook_url_encrypted)).toBe(
        'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7e2b-4bc4-97a0-0ec2a1fa5aaa',
      );
      expect(byCode['RB-513221100001'].secret_encrypted).toBeNull();
      expect(byCode['RB-513221100001001'].grid_code).toBe('513221100001001');
      expect(h.secretBox.decrypt(byCode['RB-513221100001001'].secret_encrypted)).toBe(
        'fs-secret-Ab12Cd34Ef56',
      );
    });

    it('is idempotent: importing every file again inserts, updates and changes nothing', async () => {
      const before = await snapshot(h.ds);
      for (const [kind, name] of GOOD_FIXTURES) {
        const result = await importFixture(h.imports, kind, name);
        expect(result).toEqual({
          kind,
          rows: result.rows,
          inserted: 0,
          updated: 0,
          unchanged: result.rows,
        });
      }
      // Ids, timestamps and even the robots' ciphertexts are as they were.
      expect(await snapshot(h.ds)).toEqual(before);
    });
  });

  describe('a file with bad rows is refused whole', () => {
    let before: Record<string, string[]>;

    beforeAll(async () => {
      before = await snapshot(h.ds);
    });

    afterEach(async () => {
      // Nothing was written, not even the good rows of the bad file.
      expect(await snapshot(h.ds)).toEqual(before);
    });

    it('divisions', async () => {
      const { problems, details } = await rejection(
        importFixture(h.imports, 'divisions', 'bad/divisions.csv'),
      );
      expect(rowsAndFields(problems)).toEqual([
        [2, 'name'],
        [3, 'level'],
        [4, 'parent'],
        [5, 'code'],
        [6, 'parent'],
        [7, 'code'],
      ]);
      expect(problems[3].message).toContain('2、4、6、9 或 12 位数字');
      expect(problems[4].messageEn).toContain('parent division 633221 exists neither');
      expect(problems[5].message).toContain('与第 1 行重复');
      expect(details).toMatchObject({ total: 7, badRows: 6, problemCount: 6, truncated: false });
    });

    it('grids', async () => {
      const { problems } = await rejection(importFixture(h.imports, 'grids', 'bad/grids.csv'));
      expect(rowsAndFields(problems)).toEqual([
        [2, 'code'],
        [3, 'village'],
        [4, 'code'],
        [4, 'village'],
        [5, 'code'],
        [6, 'name'],
      ]);
      expect(problems[0].messageEn).toContain("must start with its village's code 513221100001");
      expect(problems[1].messageEn).toBe('village 513221100009 does not exist');
    });

    it('people', async () => {
      const { problems } = await rejection(importFixture(h.imports, 'people', 'bad/people.csv'));
      expect(rowsAndFields(problems)).toEqual([
        [2, 'name'],
        [3, 'role'],
        [4, 'division'],
        [5, 'grid'],
        [6, 'supervisor'],
        [7, 'supervisor'],
        [8, 'mobile'],
        [9, 'id'],
        [10, 'verified_at'],
        [11, 'grid'],
      ]);
      const byRow = new Map(problems.map((p) => [p.row, p]));
      expect(byRow.get(5)?.messageEn).toContain(
        'grid 513221100001001 belongs to village 513221100001, not to 513221100002',
      );
      expect(byRow.get(7)?.messageEn).toBe('a person cannot be their own supervisor');
      expect(byRow.get(8)?.message).toBe('手机号码无效（12345）：位数不符（手机号码应为 11 位）');
    });

    it('contacts', async () => {
      const { problems } = await rejection(
        importFixture(h.imports, 'contacts', 'bad/contacts.csv'),
      );
      expect(rowsAndFields(problems)).toEqual([
        [1, 'kind'],
        [2, 'person'],
        [3, 'value'],
        [4, 'priority'],
        [5, 'value'],
        [6, 'value'],
      ]);
      expect(problems[4].message).toContain('与第 4 行重复'); // the same number once normalised
      expect(problems[5].messageEn).toContain('not a landline number');
    });

    it('hazard points', async () => {
      const { problems } = await rejection(
        importFixture(h.imports, 'hazard-points', 'bad/hazard-points.csv'),
      );
      expect(rowsAndFields(problems)).toEqual([
        [2, 'code'],
        [3, 'hazard'],
        [4, 'latitude'],
        [5, 'latitude'],
        [6, 'grids'],
        [7, 'threatened'],
        [7, 'responsible'],
        [8, 'code'],
      ]);
      expect(problems[5].messageEn).toBe('no such people: NOBODY1; NOBODY2');
      expect(problems[7].message).toBe('编号 RZ-513221-001 已被风险区使用');
    });

    it('risk zones as JSON lines', async () => {
      const { problems } = await rejection(
        importFixture(h.imports, 'risk-zones', 'bad/risk-zones.jsonl'),
      );
      expect(rowsAndFields(problems)).toEqual([
        [2, 'line'],
        [3, 'line'],
        [4, 'threatened'],
        [4, 'code'],
      ]);
    });

    it('robots, without repeating any credential in the report', async () => {
      const { problems, details } = await rejection(
        importFixture(h.imports, 'robots', 'bad/robots.csv'),
      );
      expect(rowsAndFields(problems)).toEqual([
        [1, 'secret'],
        [2, 'secret'],
        [3, 'platform'],
        [4, 'webhook_url'],
        [5, 'grid'],
      ]);
      const report = JSON.stringify(details);
      for (const secret of [
        'topsecret-should-not-leak',
        's3cr3t-leak',
        'leak-me',
        'access_token',
      ]) {
        expect(report).not.toContain(secret);
      }
    });

    it('broadcast terminals', async () => {
      const { problems } = await rejection(
        importFixture(h.imports, 'broadcast-terminals', 'bad/broadcast-terminals.csv'),
      );
      expect(rowsAndFields(problems)).toEqual([
        [2, 'division'],
        [3, 'code'],
        [4, 'code'],
      ]);
    });

    it('missing and unknown columns, before looking at any row', async () => {
      const { problems, details } = await rejection(
        h.imports.importText(
          'people',
          'id,name,mobil,division\nX-1,某人,13800000000,513221\n',
          'csv',
        ),
      );
      expect(problems).toEqual([
        { field: 'role', message: '缺少必需的列', messageEn: 'required column is missing' },
        expect.objectContaining({
          field: 'mobil',
          messageEn: expect.stringContaining('unknown column'),
        }),
      ]);
      expect(details.total).toBe(1);
    });

    it('rows with the wrong number of cells, and empty files', async () => {
      const { problems } = await rejection(
        h.imports.importText(
          'broadcast-terminals',
          'code,name,division\nGB-X,名,513221100001,extra\n',
          'csv',
        ),
      );
      expect(rowsAndFields(problems)).toEqual([[1, 'row']]);
      const empty = await rejection(h.imports.importText('grids', '', 'csv'));
      expect(empty.problems).toEqual([expect.objectContaining({ field: 'file' })]);
      const blank = await rejection(h.imports.importText('grids', '\n\n', 'jsonl'));
      expect(blank.problems).toEqual([expect.objectContaining({ field: 'file' })]);
    });

    it('a supervisor loop, even when each row alone is fine', async () => {
      const csv = [
        'id,name,role,division,supervisor',
        'LOOP-A,甲,grid_leader,513221100001,LOOP-B',
        'LOOP-B,乙,village_responsible,513221100001,LOOP-C',
        'LOOP-C,丙,township_responsible,513221100,LOOP-A',
        'LOOP-D,丁,grid_member,513221100001,LOOP-A',
      ].join('\n');
      const { problems } = await rejection(h.imports.importText('people', csv, 'csv'));
      expect(rowsAndFields(problems)).toEqual([
        [1, 'supervisor'],
        [2, 'supervisor'],
        [3, 'supervisor'],
      ]);
    });

    it('a loop through someone already in the directory', async () => {
      // WC-DO-001 is at the top; making them report to WC-GL-001 closes a loop.
      const csv =
        'id,name,role,division,supervisor\nWC-DO-001,陈静,duty_officer,513221,WC-GL-001\n';
      const { problems } = await rejection(h.imports.importText('people', csv, 'csv'));
      expect(rowsAndFields(problems)).toEqual([[1, 'supervisor']]);
    });
  });

  describe('updates', () => {
    it("replaces a person's contact points only when the file has contact columns", async () => {
      const points = async () =>
        (
          await h.ds.query(
            `SELECT c.kind || ' ' || c.value || ' ' || c.priority AS p FROM contact_points c
             JOIN people p ON p.id = c.person_id WHERE p.external_id = 'WC-DO-001' ORDER BY c.priority`,
          )
        ).map((r: { p: string }) => r.p);

      // No contact column: contacts untouched; the title column is cleared where empty.
      const noContacts = await h.imports.importRecords('people', [
        { id: 'WC-DO-001', name: '陈静', role: 'duty_officer', division: '513221', title: '' },
      ]);
      expect(noContacts).toMatchObject({ inserted: 0, updated: 1 });
      expect(await points()).toHaveLength(4);
      const [person] = await h.ds.query(
        `SELECT title, supervisor_id FROM people WHERE external_id = 'WC-DO-001'`,
      );
      expect(person).toEqual({ title: null, supervisor_id: null });

      // With contact columns: exactly those given, in CONTACT_KINDS order.
      const replaced = await h.imports.importRecords('people', [
        {
          id: 'WC-DO-001',
          name: '陈静',
          role: 'duty_officer',
          division: '513221',
          email: 'zhiban@wenchuan.gov.cn',
          mobile: '13990001005',
        },
      ]);
      expect(replaced).toMatchObject({ rows: 1, inserted: 0, updated: 1 });
      expect(await points()).toEqual(['mobile +8613990001005 1', 'email zhiban@wenchuan.gov.cn 2']);
    });

    it('updates a contact point in place, keeping its priority unless one is given', async () => {
      const result = await h.imports.importText(
        'contacts',
        'person,kind,value,verified_at\nWC-RS-001,landline,0837 622 5555,2025-04-12\n',
        'csv',
      );
      expect(result).toEqual({ kind: 'contacts', rows: 1, inserted: 0, updated: 1, unchanged: 0 });
      const [point] = await h.ds.query(
        `SELECT priority, verified_at::text AS verified_at FROM contact_points WHERE value = '+868376225555'`,
      );
      expect(point).toEqual({ priority: 2, verified_at: '2025-04-12' });
    });

    it('replaces the link sets of a site, leaving columns the file does not have alone', async () => {
      const result = await h.imports.importRecords('hazard-points', [
        {
          code: 'HP-513221-001',
          name: '渔子溪村后山滑坡',
          hazard: 'landslide',
          division: '513221100001',
          threatened: 'WC-RS-001',
        },
      ]);
      expect(result).toEqual({
        kind: 'hazard-points',
        rows: 1,
        inserted: 0,
        updated: 1,
        unchanged: 0,
      });
      const links = await h.ds.query(`
        SELECT l.relation, p.external_id FROM hazard_site_people l JOIN people p ON p.id = l.person_id
        WHERE l.site_code = 'HP-513221-001' ORDER BY 1, 2`);
      expect(links).toEqual([
        { relation: 'responsible', external_id: 'WC-GM-001' },
        { relation: 'responsible', external_id: 'WC-VR-001' },
        { relation: 'threatened', external_id: 'WC-RS-001' },
      ]);
      const [site] = await h.ds.query(
        `SELECT latitude, threatened_people, (SELECT count(*)::int FROM hazard_site_grids WHERE site_code = code) AS grids
         FROM hazard_sites WHERE code = 'HP-513221-001'`,
      );
      expect(site).toEqual({ latitude: 31.0612, threatened_people: 35, grids: 2 });
    });

    it('re-seals a robot only when its webhook changes', async () => {
      const read = async () =>
        (
          await h.ds.query(
            `SELECT webhook_url_encrypted AS w, secret_encrypted AS s FROM group_robots WHERE code = 'RB-513221100'`,
          )
        )[0];
      const before = await read();
      const result = await h.imports.importText(
        'robots',
        [
          'code,platform,name,division,webhook_url,secret',
          'RB-513221100,dingtalk,映秀镇防汛群,513221100,https://oapi.dingtalk.com/robot/send?access_token=new,SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
        ].join('\n'),
        'csv',
      );
      expect(result).toMatchObject({ inserted: 0, updated: 1 });
      const after = await read();
      expect(after.w).not.toBe(before.w);
      expect(after.s).toBe(before.s);
      expect(h.secretBox.decrypt(after.w)).toBe(
        'https://oapi.dingtalk.com/robot/send?access_token=new',
      );
    });

    it('reads JSON lines with numbers and arrays', async () => {
      const text = readFixture('good/risk-zones.jsonl');
      expect(await h.imports.importText('risk-zones', text, 'jsonl')).toEqual({
        kind: 'risk-zones',
        rows: 2,
        inserted: 0,
        updated: 0,
        unchanged: 2,
      });
    });
  });
});
