import { mkdirSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import {
  ConsoleStreamService,
  LISTEN_APPLICATION_NAME,
} from '../../src/modules/console/console-stream.service';
import { ChainStatsService } from '../../src/modules/escalation/chain-stats.service';
import { WarningsService } from '../../src/modules/warnings/warnings.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { waitUntil } from '../helpers/wait';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'console-roles-secret'.padEnd(40, 'z');
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** More people than the village fixture: a grid member who takes tasks, a second village. */
const MORE = {
  gridMember: { ext: 'P-GM1', name: '周网格员', mobile: '+8613800000011' },
  farResident: { ext: 'P-R3', name: '孙居民', mobile: '+8613800000012' },
  farSilent: { ext: 'P-R4', name: '钱居民', mobile: '+8613800000013' },
};
const MORE_SQL = `
  INSERT INTO divisions (code, name, level, parent_code) VALUES ('513221001002', '老街村', 'village', '513221001');
  INSERT INTO grids (code, name, village_code) VALUES ('513221001002001', '老街村第1网格', '513221001002');
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('${MORE.gridMember.ext}', '${MORE.gridMember.name}', 'grid_member', '513221001001', '513221001001001'),
    ('${MORE.farResident.ext}', '${MORE.farResident.name}', 'resident', '513221001002', '513221001002001'),
    ('${MORE.farSilent.ext}', '${MORE.farSilent.name}', 'resident', '513221001002', '513221001002001');
  INSERT INTO contact_points (person_id, kind, value, priority)
  SELECT id, 'mobile', c.value, 1 FROM people JOIN (VALUES
    ('${MORE.gridMember.ext}', '${MORE.gridMember.mobile}'),
    ('${MORE.farResident.ext}', '${MORE.farResident.mobile}'),
    ('${MORE.farSilent.ext}', '${MORE.farSilent.mobile}')
  ) AS c(ext, value) ON c.ext = people.external_id;
  INSERT INTO broadcast_terminals (code, name, division_code) VALUES ('T-002', '老街村大喇叭', '513221001002');
`;

/**
 * Issue 12 ("a console for every role"), items 7–10: a grid member's phone view, the duty
 * officer's filters and grouping, the small defects (task for a person with no grid, readable
 * errors, the response-time chart, states in Chinese, actions by role, loudspeaker receipts) and
 * the live stream's cost with many viewers.
 */
describe('the console for every role (issue 12)', () => {
  let t: TestApp;
  let browser: Browser;
  let warningId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET) + MORE_SQL,
      env: { TWILIO_CALLS_PER_SECOND: '5', TWILIO_SMS_PER_SECOND: '20' },
    });
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.villageChief.mobile, 'no-answer');
    s.setProfile(PEOPLE.gridLeader.mobile, 'needs-help');
    s.setProfile(PEOPLE.resident.mobile, 'confirms');
    s.setProfile(PEOPLE.townshipChief.mobile, 'confirms');
    s.setProfile(PEOPLE.deadMobile.mobile, 'no-answer');
    s.setProfile(PEOPLE.deadMobile.landline, 'no-answer');
    // Takes tasks but never replies by SMS (a reply `1` would complete the task before the page does).
    s.setProfile(MORE.gridMember.mobile, 'no-answer');
    s.setProfile(MORE.farResident.mobile, 'unreachable');
    s.setProfile(MORE.farSilent.mobile, 'no-answer');
    s.setTerminalStatus('T-001', 'online');
    s.setTerminalStatus('T-002', 'offline');
    for (const [key, ext] of Object.entries({
      villageChief: PEOPLE.villageChief.ext,
      gridLeader: PEOPLE.gridLeader.ext,
      resident: PEOPLE.resident.ext,
      deadMobile: PEOPLE.deadMobile.ext,
      farResident: MORE.farResident.ext,
      farSilent: MORE.farSilent.ext,
    })) {
      const [p] = await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [ext]);
      ids[key] = p.id as string;
    }
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set('Authorization', `Bearer ${t.tokens.duty_officer}`)
      .set('Idempotency-Key', 'console-roles-1')
      .send(imminentWarning({ areas: ['513221001'] }))
      .expect(201);
    warningId = issued.body.id as string;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });

    // Wait for the chains to settle as the profiles make them: help, confirmation, unreachable.
    const state = async (personId: string) =>
      (
        await t.db.query(
          `SELECT state, help_requested_at FROM deliveries WHERE warning_id = $1 AND person_id = $2`,
          [warningId, personId],
        )
      )[0] as { state: string; help_requested_at: Date | null } | undefined;
    await waitUntil(
      async () =>
        (await state(ids.gridLeader))?.help_requested_at &&
        (await state(ids.resident))?.state === 'confirmed' &&
        (await state(ids.farResident))?.state === 'unreachable',
      'help, a confirmation and an unreachable person',
      120_000,
    );
    // The not-woken list comes after the policy's retries; mark one person as the timer would.
    await t.db.query(
      `UPDATE deliveries SET not_woken_at = now() WHERE warning_id = $1 AND person_id = $2`,
      [warningId, ids.farSilent],
    );
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openWith(token: string, options: BrowserContextOptions = {}): Promise<Page> {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 1000 },
      bypassCSP: true,
      ...options,
    });
    page.on('dialog', (d) => void d.accept(d.defaultValue() || undefined));
    await page.goto(`${t.baseUrl}/console`);
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForFunction(`document.body.getAttribute('data-role')`);
    return page;
  }
  async function watch(page: Page) {
    await page.click('[data-tab=watch]');
    await page.fill('#watch-id', warningId);
    await page.click('#watch-form button[type=submit]');
    await page.waitForSelector('#counts .card');
  }
  const filterCount = async (page: Page, f: string) =>
    Number(await page.textContent(`#people-filter-buttons [data-filter=${f}] .count`));
  const peopleRows = (page: Page) =>
    page.$$eval('#people-table tr[data-person]', (rs) =>
      rs.map((r) => r.getAttribute('data-person')),
    );

  it('item 8: the duty officer filters who is silent, asked for help, not woken, unreachable, grouped by place with counts', async () => {
    const page = await openWith(t.tokens.duty_officer);
    await watch(page);
    await page.click('#people-btn');
    await page.waitForSelector('#people-filters:not([hidden]) [data-filter=silent]');

    const all = (await (
      await fetch(`${t.baseUrl}/v1/warnings/${warningId}/responses?limit=1000`, {
        headers: { Authorization: `Bearer ${t.tokens.duty_officer}` },
      })
    ).json()) as {
      personId: string;
      state: string;
      divisionCode: string;
      helpRequestedAt: string | null;
      notWoken: boolean;
    }[];
    const silent = all.filter((p) => !['confirmed', 'declined', 'cancelled'].includes(p.state));
    // Counts of every filter at once, as the API has them.
    expect(await filterCount(page, 'all')).toBe(all.length);
    expect(await filterCount(page, 'silent')).toBe(silent.length);
    expect(await filterCount(page, 'help')).toBe(
      all.filter((p) => p.helpRequestedAt || p.state === 'declined').length,
    );
    expect(await filterCount(page, 'notWoken')).toBe(all.filter((p) => p.notWoken).length);
    expect(await filterCount(page, 'unreachable')).toBe(
      all.filter((p) => p.state === 'unreachable').length,
    );

    // Default: the silent, grouped by village, with a count per village.
    expect((await peopleRows(page)).sort()).toEqual(silent.map((p) => p.personId).sort());
    expect(await peopleRows(page)).not.toContain(ids.resident);
    const heads = await page.$$eval('#people-table tr.group-head', (rs) =>
      rs.map((r) => ({
        key: r.getAttribute('data-group'),
        n: Number(r.getAttribute('data-count')),
        text: r.textContent,
      })),
    );
    expect(heads.map((h) => h.key).sort()).toEqual(['513221001001', '513221001002']);
    for (const h of heads) {
      expect(h.n).toBe(silent.filter((p) => p.divisionCode.startsWith(h.key!)).length);
    }
    expect(heads.map((h) => h.text).join()).toContain('老街村');
    await page.screenshot({
      path: join(SHOTS, 'console-roles-1-silent-by-village.png'),
      fullPage: true,
    });

    await page.click('[data-filter=help]');
    expect(await peopleRows(page)).toEqual([ids.gridLeader]);
    await page.click('[data-filter=unreachable]');
    expect(await peopleRows(page)).toEqual([ids.farResident]);
    await page.click('[data-filter=notWoken]');
    expect(await peopleRows(page)).toEqual([ids.farSilent]);

    await page.click('[data-filter=silent]');
    await page.selectOption('#people-group', 'grid');
    const grids = await page.$$eval('#people-table tr.group-head', (rs) =>
      rs.map((r) => r.getAttribute('data-group')),
    );
    expect(grids).toEqual(expect.arrayContaining(['513221001001001', '513221001002001']));
    await page.selectOption('#people-group', 'township');
    expect(await page.$$eval('#people-table tr.group-head', (rs) => rs.length)).toBe(1);
    expect(await page.textContent('#people-table tr.group-head')).toContain('映秀镇');
    await page.screenshot({ path: join(SHOTS, 'console-roles-2-by-township.png'), fullPage: true });
    await page.close();
  });

  it('item 9: a task about a village chief (no grid) asks for one of the village’s grids; errors read as Chinese', async () => {
    const page = await openWith(t.tokens.duty_officer);
    await watch(page);
    await page.click('#people-btn');
    const row = `#people-table tr[data-person="${ids.villageChief}"]`;
    await page.waitForSelector(`${row} button[data-action=task]`);

    // Grid 2 of the village has nobody to take it: the API's 400 is said in Chinese, no raw code.
    await page.click(`${row} button[data-action=task]`);
    await page.waitForSelector('#grid-picker:not([hidden]) select');
    expect(await page.textContent('#grid-picker')).toContain('不属于任何网格');
    await page.selectOption('#grid-picker select', '513221001001002');
    await page.click('#grid-picker-ok');
    await page.waitForFunction(`/✗/.test(document.querySelector('#flash').textContent)`);
    const err = (await page.textContent('#flash'))!;
    expect(err).toContain('网格');
    expect(err).toContain('没有可接收任务的人员');
    expect(err).not.toMatch(/400|grid|错误/);
    await page.screenshot({
      path: join(SHOTS, 'console-roles-3-task-error-zh.png'),
      fullPage: true,
    });

    await page.click(`${row} button[data-action=task]`);
    await page.waitForSelector('#grid-picker:not([hidden]) select');
    await page.selectOption('#grid-picker select', '513221001001001');
    await page.click('#grid-picker-ok');
    await page.waitForFunction(`/✓/.test(document.querySelector('#flash').textContent)`);
    expect(await page.textContent('#flash')).toContain('任务号');
    const tasks = await t.db.query(
      `SELECT t.grid_code, t.status, p.external_id AS assignee FROM manual_tasks t
         JOIN deliveries d ON d.id = t.subject_delivery_id JOIN people p ON p.id = t.assignee_id
        WHERE t.warning_id = $1 AND d.person_id = $2`,
      [warningId, ids.villageChief],
    );
    expect(tasks).toEqual([
      { grid_code: '513221001001001', status: 'open', assignee: MORE.gridMember.ext },
    ]);
    await page.screenshot({
      path: join(SHOTS, 'console-roles-4-task-assigned.png'),
      fullPage: true,
    });
    await page.close();
  });

  it('item 9: states in Chinese, the response-time chart from entryToAnswer, loudspeaker receipts per village', async () => {
    const page = await openWith(t.tokens.duty_officer);
    await watch(page);
    await page.waitForFunction(`/生效中/.test(document.querySelector('#live-status').textContent)`);
    expect(await page.textContent('#live-status')).not.toContain('active');

    // Receipts: the online loudspeaker played, the offline one did not.
    await page.waitForFunction(
      `document.querySelector('#broadcast-table tr[data-village="513221001001"] td.played')?.textContent !== '0' &&
       document.querySelector('#broadcast-table tr[data-village="513221001002"] td.failed')?.textContent !== '0' &&
       !!document.querySelector('#broadcast-table tr[data-village="513221001002"]')`,
      undefined,
      { timeout: 60_000 },
    );
    expect(await page.textContent('#broadcast-table')).toContain('老街村');
    await page.click(
      '#broadcast-table tr[data-village="513221001002"] button[data-action=bc-details]',
    );
    await page.waitForSelector('#broadcast-details li[data-terminal="T-002"]');
    expect(await page.textContent('#broadcast-details')).toContain('离线');

    // The histogram reads each person's entry → answer time, and marks the median and p90.
    await page.click('#hist-btn');
    await page.waitForSelector('#histogram svg rect.bar:not([data-count="0"])');
    expect(await page.getAttribute('#histogram', 'data-field')).toBe('entryToAnswer');
    expect(await page.$('#histogram svg line.mark-median')).not.toBeNull();
    const rows = (await (
      await fetch(`${t.baseUrl}/v1/warnings/${warningId}/responses?limit=1000`, {
        headers: { Authorization: `Bearer ${t.tokens.duty_officer}` },
      })
    ).json()) as { entryToAnswer: number | null }[];
    const bars = await page.$$eval('#histogram svg rect.bar', (rs) =>
      rs.map((r) => Number(r.getAttribute('data-count'))),
    );
    expect(bars.reduce((a, b) => a + b, 0)).toBe(
      rows.filter((r) => r.entryToAnswer !== null).length,
    );
    await page.screenshot({
      path: join(SHOTS, 'console-roles-5-receipts-histogram.png'),
      fullPage: true,
    });
    await page.close();
  });

  it('item 9: an auditor sees no action the server would refuse', async () => {
    const page = await openWith(t.tokens.auditor);
    await watch(page);
    await page.click('#people-btn');
    await page.waitForSelector('#people-table tr[data-person]');
    expect(await page.$$('#people-table button')).toHaveLength(0);
    expect(await page.$$('#help-list button')).toHaveLength(0);
    expect(await page.isVisible('#cancel-btn')).toBe(false);
    expect(await page.isVisible('#update-open-btn')).toBe(false);
    expect(await page.isVisible('[data-tab=issue]')).toBe(false);
    expect(await page.isVisible('[data-tab=audit]')).toBe(true);
    await page.click('[data-tab=audit]');
    expect(await page.isVisible('#verify-btn')).toBe(true);
    await page.screenshot({
      path: join(SHOTS, 'console-roles-6-auditor-no-actions.png'),
      fullPage: true,
    });
    await page.close();

    // And a duty officer does not see the auditor's verification.
    const officer = await openWith(t.tokens.duty_officer);
    await officer.click('[data-tab=audit]');
    expect(await officer.isVisible('#verify-btn')).toBe(false);
    await officer.close();
  });

  it('item 7: a grid member on a phone completes a task and confirms a neighbour on site', async () => {
    const page = await openWith(t.tokens.grid_member, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    // Their own view, nothing they may not use.
    await page.waitForSelector('#tab-mygrid:not([hidden])');
    for (const tab of ['issue', 'watch', 'audit']) {
      expect(await page.isVisible(`[data-tab=${tab}]`)).toBe(false);
    }
    expect(await page.textContent('#mygrid-title')).toContain('渔子溪村第1网格');

    // The task from the duty officer: its number, the person to visit, a completion with an outcome.
    const [task] = await t.db.query(
      `SELECT id, number FROM manual_tasks WHERE warning_id = $1 AND grid_code = '513221001001001' AND status = 'open'`,
      [warningId],
    );
    const card = `#mygrid-tasks [data-task="${task.id}"]`;
    await page.waitForSelector(`${card} button[data-action=complete]`);
    expect(await page.textContent(`${card} .task-no`)).toContain(String(task.number));
    expect(await page.textContent(card)).toContain('敲门入户');
    expect(await page.textContent(card)).toContain(PEOPLE.villageChief.name);

    // The people of the grid who have not confirmed; not those of other grids.
    const people = `#mygrid-warnings [data-warning="${warningId}"]`;
    await page.waitForSelector(
      `${people} li[data-person="${ids.deadMobile}"] button[data-action=confirm]`,
    );
    const listed = await page.$$eval(`${people} li[data-person]`, (ls) =>
      ls.map((l) => l.getAttribute('data-person')),
    );
    expect(listed).not.toContain(ids.resident);
    expect(listed).not.toContain(ids.farResident);
    expect(listed).toContain(ids.gridLeader);
    // Nothing runs off the side of the phone.
    expect(await page.evaluate(`document.documentElement.scrollWidth`)).toBeLessThanOrEqual(390);
    await page.screenshot({
      path: join(SHOTS, 'console-roles-7-grid-member-phone.png'),
      fullPage: true,
    });

    await page.selectOption(`${card} select[name=outcome]`, 'evacuated');
    await page.fill(`${card} input[name=note]`, '已协助转移至村委会');
    await page.click(`${card} button[data-action=complete]`);
    await page.waitForFunction(`/任务已完成/.test(document.querySelector('#flash').textContent)`);
    const [done] = await t.db.query(
      `SELECT status, outcome, note FROM manual_tasks WHERE id = $1`,
      [task.id],
    );
    expect(done).toEqual({ status: 'done', outcome: 'evacuated', note: '已协助转移至村委会' });

    const li = `${people} li[data-person="${ids.deadMobile}"]`;
    await page.fill(`${li} input[name=reason]`, '入户当面告知，本人确认');
    await page.click(`${li} button[data-action=confirm]`);
    await page.waitForFunction(`/已现场确认/.test(document.querySelector('#flash').textContent)`);
    const [d] = await t.db.query(
      `SELECT state, answer_channel FROM deliveries WHERE warning_id = $1 AND person_id = $2`,
      [warningId, ids.deadMobile],
    );
    expect(d.state).toBe('confirmed');
    await page.waitForFunction(`!document.querySelector('${li}')`);
    await page.screenshot({
      path: join(SHOTS, 'console-roles-8-grid-member-done.png'),
      fullPage: true,
    });
    await page.close();
  });

  it('item 10: changes are pushed (LISTEN/NOTIFY); many viewers and a burst of changes cost what one does', async () => {
    const streams = t.app.get(ConsoleStreamService);
    const warnings = t.app.get(WarningsService);
    const stats = t.app.get(ChainStatsService);
    const { recheckMs, debounceMs } = streams;
    // Notifications of one burst gathered into one read, even on a slow machine.
    streams.debounceMs = 1500;
    const visibility = jest.spyOn(warnings, 'findVisible');
    const summaries = jest.spyOn(stats, 'summary');
    const mine = <T extends unknown[]>(calls: T[], at: number) =>
      calls.filter((c) => c[at] === warningId).length;

    interface Viewer {
      req: http.ClientRequest;
      frames: number;
    }
    const viewers: Viewer[] = [];
    const open = (n: number) => {
      for (let i = 0; i < n; i++) {
        const v = { frames: 0 } as Viewer;
        v.req = http.get(`${t.baseUrl}/v1/console/warnings/${warningId}/stream`, {
          headers: { Authorization: `Bearer ${i % 2 ? t.tokens.auditor : t.tokens.duty_officer}` },
        });
        v.req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on(
            'data',
            (chunk: string) => (v.frames += (chunk.match(/^event: summary$/gm) ?? []).length),
          );
        });
        v.req.on('error', () => undefined);
        viewers.push(v);
      }
    };
    const ids = (
      (await t.db.query(`SELECT id FROM deliveries WHERE warning_id = $1`, [warningId])) as {
        id: string;
      }[]
    ).map((r) => r.id);
    /**
     * A burst of `n` changes, each its own transaction (as answers arrive): the read they cause,
     * once every notification was heard and the read is done.
     */
    const burst = async (n: number) => {
      const p0 = streams.counters.polls;
      const n0 = streams.counters.notifications;
      const f0 = viewers.map((v) => v.frames);
      summaries.mockClear();
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          t.db.query(`UPDATE deliveries SET first_attempt_at = first_attempt_at WHERE id = $1`, [
            ids[i % ids.length],
          ]),
        ),
      );
      await waitUntil(async () => streams.counters.notifications - n0 >= n, 'every notification');
      await waitUntil(async () => streams.counters.polls > p0 && !streams.reading, 'the read');
      // Every viewer got the new state.
      await waitUntil(async () => viewers.every((v, i) => v.frames > (f0[i] ?? 0)), 'the frames');
      return { polls: streams.counters.polls - p0, summary: mine(summaries.mock.calls, 0) };
    };
    try {
      open(1);
      await waitUntil(async () => viewers[0].frames > 0, 'the first frame (full state on connect)');
      const one = await burst(30);
      open(19);
      await waitUntil(async () => viewers.every((v) => v.frames > 0), 'twenty first frames');
      const twenty = await burst(30);

      expect(streams.watched).toBe(1);
      expect(streams.listenConnections).toBe(1);
      // 30 changes → one read, for 1 or 20 viewers (one or two more when the warning's own
      // dispatch changed something as the burst began).
      expect(one.polls).toBeLessThanOrEqual(3);
      expect(twenty.polls).toBeLessThanOrEqual(3);
      expect(twenty.summary).toBeLessThanOrEqual(twenty.polls);

      // Token rechecks: one visibility query per scope (duty officer, auditor) and tick, not per viewer.
      streams.recheckMs = 0;
      open(20); // opened with a recheck on every tick
      await waitUntil(async () => streams.clients === 40, 'forty streams');
      visibility.mockClear();
      const c0 = streams.counters.tokenChecks;
      await waitUntil(async () => streams.counters.tokenChecks >= c0 + 3, 'three ticks');
      const ticks = streams.counters.tokenChecks - c0;
      expect(mine(visibility.mock.calls, 1)).toBeLessThanOrEqual(2 * (ticks + 1));
      expect(mine(visibility.mock.calls, 1)).toBeLessThan(20 * ticks);
    } finally {
      streams.recheckMs = recheckMs;
      streams.debounceMs = debounceMs;
      visibility.mockRestore();
      summaries.mockRestore();
      for (const v of viewers) v.req.destroy();
    }
  });

  it('item 10: a lost LISTEN connection is opened again and the viewers get what changed meanwhile', async () => {
    const streams = t.app.get(ConsoleStreamService);
    let text = '';
    const req = http.get(`${t.baseUrl}/v1/console/warnings/${warningId}/stream`, {
      headers: { Authorization: `Bearer ${t.tokens.auditor}` },
    });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
    });
    req.on('error', () => undefined);
    const frames = () =>
      [...text.matchAll(/^event: summary\ndata: (.*)$/gm)].map(
        (m) => JSON.parse(m[1]) as { table: { gridCode: string | null; total: number }[] },
      );
    try {
      await waitUntil(
        async () => frames().length > 0 && streams.listenConnections === 1,
        'a frame',
      );
      const connects = streams.counters.listenConnects;
      await t.db.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [LISTEN_APPLICATION_NAME],
      );
      await waitUntil(async () => streams.listenConnections === 0, 'the connection to drop');
      // A change while nobody listens: a person moves to another grid of the village.
      const [d] = (await t.db.query(
        `SELECT id, grid_code AS "gridCode" FROM deliveries WHERE warning_id = $1 AND grid_code IS NOT NULL LIMIT 1`,
        [warningId],
      )) as { id: string; gridCode: string }[];
      await t.db.query(`UPDATE deliveries SET grid_code = NULL WHERE id = $1`, [d.id]);
      const nullRows = (f: ReturnType<typeof frames>[number]) =>
        f.table.filter((r) => r.gridCode === null).reduce((a, r) => a + r.total, 0);
      const before = nullRows(frames()[frames().length - 1]);
      await waitUntil(
        async () => streams.counters.listenConnects > connects && streams.listenConnections === 1,
        'the LISTEN connection back',
      );
      await waitUntil(
        async () => nullRows(frames()[frames().length - 1]) === before + 1,
        'the change pushed',
      );
      await t.db.query(`UPDATE deliveries SET grid_code = $2 WHERE id = $1`, [d.id, d.gridCode]);
      // And a change after it is back is pushed as before.
      await waitUntil(
        async () => nullRows(frames()[frames().length - 1]) === before,
        'the change back pushed',
      );
    } finally {
      req.destroy();
    }
  });

  it('item 10: a viewer that reconnects gets the full state at once, changes made meanwhile included', async () => {
    const streams = t.app.get(ConsoleStreamService);
    /** Opens a stream; resolves with its first summary frame, then closes it. */
    const firstFrame = () =>
      new Promise<{ table: { gridCode: string | null; total: number }[] }>((resolve, reject) => {
        let text = '';
        const req = http.get(`${t.baseUrl}/v1/console/warnings/${warningId}/stream`, {
          headers: { Authorization: `Bearer ${t.tokens.duty_officer}` },
        });
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            const m = /^event: summary\ndata: (.*)$/m.exec(text);
            if (m) {
              req.destroy();
              resolve(JSON.parse(m[1]));
            }
          });
        });
        req.on('error', (err) => (text.includes('event: summary') ? undefined : reject(err)));
      });
    const ungridded = (f: { table: { gridCode: string | null; total: number }[] }) =>
      f.table.filter((r) => r.gridCode === null).reduce((a, r) => a + r.total, 0);

    const before = ungridded(await firstFrame());
    await waitUntil(async () => streams.clients === 0, 'the viewer gone');
    // While nobody watches (no LISTEN read, no poll), a person moves out of their grid.
    const [d] = (await t.db.query(
      `SELECT id, grid_code AS "gridCode" FROM deliveries WHERE warning_id = $1 AND grid_code IS NOT NULL LIMIT 1`,
      [warningId],
    )) as { id: string; gridCode: string }[];
    await t.db.query(`UPDATE deliveries SET grid_code = NULL WHERE id = $1`, [d.id]);
    try {
      // The reconnecting viewer's very first frame has it.
      expect(ungridded(await firstFrame())).toBe(before + 1);
    } finally {
      await t.db.query(`UPDATE deliveries SET grid_code = $2 WHERE id = $1`, [d.id, d.gridCode]);
    }
  });
});
