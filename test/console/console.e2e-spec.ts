import { mkdirSync, readFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import * as http from 'node:http';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { ConsoleStreamService } from '../../src/modules/console/console-stream.service';
import { TokensService } from '../../src/modules/auth/tokens.service';
import { CHAIN_STATE_ZH, CHANNEL_ZH, ROLE_ZH } from '../../src/modules/reports/export-values';
import {
  HAZARD_NAMES_EN,
  HAZARD_NAMES_ZH,
  LEVEL_NAMES_EN,
  LEVEL_NAMES_ZH,
  WARNING_KIND_NAMES_EN,
} from '../../src/common/domain/warning.types';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';
import { inboundSms } from '../helpers/twilio-webhooks';
import { waitUntil } from '../helpers/wait';

const APP_SECRET = 'console-e2e-secret'.padEnd(40, 'z');
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

/**
 * Run in the page: records in `window.confirmedCountsSeen` each confirmed count the live view
 * shows, from now on, every time it changes.
 */
const RECORD_CONFIRMED_COUNTS = `(() => {
  const seen = [];
  const read = () => {
    const n = document.querySelector('#counts [data-state=confirmed] .n');
    if (!n) return;
    const value = Number(n.textContent);
    if (seen[seen.length - 1] !== value) seen.push(value);
  };
  read();
  new MutationObserver(read).observe(document.querySelector('#counts'), {
    childList: true,
    subtree: true,
    characterData: true,
  });
  window.confirmedCountsSeen = seen;
})()`;

describe('the duty console (/console) in headless Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let warningId: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { TWILIO_CALLS_PER_SECOND: '5', TWILIO_SMS_PER_SECOND: '20' },
    });
    const s = t.sandbox!.carrier;
    // The village chief and the resident do not answer on their own: the live view test has them
    // confirm by SMS one at a time, once the page shows its first counts.
    s.setProfile(PEOPLE.villageChief.mobile, 'no-answer');
    s.setProfile(PEOPLE.gridLeader.mobile, 'needs-help');
    s.setProfile(PEOPLE.resident.mobile, 'no-answer');
    // Never answers: stays on the not-woken side until confirmed on site from the console.
    s.setProfile(PEOPLE.deadMobile.mobile, 'no-answer');
    s.setProfile(PEOPLE.deadMobile.landline, 'no-answer');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openWith(token: string, options: BrowserContextOptions = {}): Promise<Page> {
    // The console's CSP forbids eval, which waitForFunction('…') needs: these pages bypass it
    // (test/security/console-csp.e2e-spec.ts runs the page under the policy).
    const page = await browser.newPage({
      viewport: { width: 1280, height: 1000 },
      bypassCSP: true,
      ...options,
    });
    page.on('dialog', (d) => void d.accept(d.defaultValue() || undefined));
    await page.goto(`${t.baseUrl}/console`);
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    return page;
  }
  const confirmedCount = async (page: Page) =>
    Number(await page.textContent('#counts [data-state=confirmed] .n'));

  it('serves the page in Chinese, switches to English and back', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/console`);
    expect(await page.textContent('h1')).toBe('预警叫应值班台');
    await page.click('#lang');
    expect(await page.textContent('h1')).toBe('Warning duty console');
    await page.click('#lang');
    expect(await page.textContent('h1')).toBe('预警叫应值班台');
    await page.close();
  });

  it('takes the names of states, roles, levels and hazards from the API, not from its script', async () => {
    const labels = (await (await fetch(`${t.baseUrl}/v1/console/labels`)).json()) as Record<
      string,
      { zh: Record<string, string>; en: Record<string, string> }
    >;
    // The server's own tables (the exports use the same).
    expect(labels.roles.zh).toEqual(ROLE_ZH);
    expect(labels.deliveryStates.zh).toEqual(CHAIN_STATE_ZH);
    expect(labels.channels.zh).toEqual(CHANNEL_ZH);
    expect(labels.levels).toEqual({ zh: LEVEL_NAMES_ZH, en: LEVEL_NAMES_EN });
    expect(labels.hazards).toEqual({ zh: HAZARD_NAMES_ZH, en: HAZARD_NAMES_EN });
    for (const set of Object.values(labels))
      expect(Object.keys(set.en)).toEqual(Object.keys(set.zh));
    // The script has no copy of them.
    const script = await (await fetch(`${t.baseUrl}/console/assets/console.js`)).text();
    for (const name of ['群测群防员', '驻守地质队员', '地面塌陷', '二级（橙色）', 'Debris flow'])
      expect(script).not.toContain(name);

    const page = await browser.newPage({ bypassCSP: true });
    await page.goto(`${t.baseUrl}/console`);
    const options = (select: string) =>
      page.$$eval(`#issue-form [name=${select}] option`, (os) =>
        os.map((o) => [o.getAttribute('value'), o.textContent]),
      );
    await page.waitForFunction(
      `document.querySelector('#issue-form [name=level] option').textContent !== ''`,
    );
    expect(Object.fromEntries(await options('level'))).toEqual(LEVEL_NAMES_ZH);
    expect(Object.fromEntries(await options('hazard'))).toEqual(HAZARD_NAMES_ZH);
    await page.click('#lang');
    expect(Object.fromEntries(await options('level'))).toEqual(LEVEL_NAMES_EN);
    expect(Object.fromEntries(await options('kind'))).toEqual(WARNING_KIND_NAMES_EN);
    await page.click('#lang');
    await page.close();
  });

  it('a duty officer sees a field error, previews, issues and watches people confirm live', async () => {
    const page = await openWith(t.tokens.duty_officer);
    // A missing headline: the API's 400 names the field and the page shows it beside it.
    await page.selectOption('[name=kind]', 'imminent');
    await page.fill(
      '[name=description]',
      '渔子溪滑坡隐患点出现裂缝扩大，预计两小时内可能发生滑坡。',
    );
    await page.fill('[name=instruction]', '立即撤离至渔子溪小学避险点');
    await page.fill('[name=areas]', '513221001001');
    await page.fill('[name=hazardPoints]', 'HP-1');
    await page.fill('[name=extent]', '隐患点下方200米范围');
    await page.fill('[name=shelter]', '渔子溪小学');
    await page.fill('[name=impactPeople]', '12');
    await page.fill('[name=impactHouseholds]', '4');
    await page.click('#issue-btn');
    await page.waitForSelector('[data-err-for=headline]:not(:empty)');
    // In Chinese: the field's name and what is wrong (issue 12, item 9).
    expect(await page.textContent('[data-err-for=headline]')).toBe('标题：不能为空');
    expect(await page.getAttribute('[name=headline]', 'class')).toContain('invalid');
    await page.screenshot({ path: join(SHOTS, 'console-1-field-error.png'), fullPage: true });
    expect(await t.db.query(`SELECT id FROM warnings`)).toHaveLength(0);

    await page.fill('[name=headline]', '渔子溪村滑坡临灾预警');
    await page.click('#preview-btn');
    await page.waitForSelector('#preview:not([hidden]) #preview-total');
    expect(await page.textContent('#preview-total')).toBe('4');
    expect(await page.textContent('#pv-sms-long')).toContain('渔子溪');
    expect(await page.textContent('#pv-voice')).toContain('渔子溪');
    expect(await page.textContent('#pv-robot')).toContain('渔子溪');
    expect(await page.textContent('#pv-email')).toContain('渔子溪');
    expect(await page.textContent('#pv-broadcast')).toContain('渔子溪');
    expect(await page.textContent('[data-err-for=headline]')).toBe('');
    await page.screenshot({ path: join(SHOTS, 'console-2-preview.png'), fullPage: true });
    expect(await t.db.query(`SELECT id FROM warnings`)).toHaveLength(0);

    await page.click('#issue-btn');
    await page.waitForSelector('#tab-watch:not([hidden]) #counts .card');
    warningId = await page.inputValue('#watch-id');
    expect(warningId).toMatch(/^[0-9a-f-]{36}$/);

    // Counts arrive over SSE and change while the page stays put. Nobody has confirmed in the
    // first frame; from then on every confirmed count the page shows is recorded, and the village
    // chief, then the resident, reply 1 to their SMS: the page shows 1, then 2, in turn.
    expect(await confirmedCount(page)).toBe(0);
    await page.evaluate(RECORD_CONFIRMED_COUNTS);
    const reached = (ext: string) => async () =>
      (
        await t.db.query(
          `SELECT d.first_attempt_at IS NOT NULL AS reached FROM deliveries d JOIN people p ON p.id = d.person_id
            WHERE d.warning_id = $1 AND p.external_id = $2`,
          [warningId, ext],
        )
      )[0]?.reached === true;
    for (const [i, person] of [PEOPLE.villageChief, PEOPLE.resident].entries()) {
      await waitUntil(reached(person.ext), `${person.name}'s warning sent`);
      const reply = await inboundSms(t, person.mobile, '1');
      expect(reply.status).toBe(201);
      await page.waitForFunction(
        `Number(document.querySelector('#counts [data-state=confirmed] .n').textContent) === ${i + 1}`,
        undefined,
        { timeout: 30_000 },
      );
    }
    expect(await confirmedCount(page)).toBe(2);
    expect(await page.evaluate('window.confirmedCountsSeen')).toEqual([0, 1, 2]);
    // The grid leader asked for help: at the top.
    await page.waitForSelector('#help-box:not([hidden]) li', { timeout: 60_000 });
    expect(await page.textContent('#help-list')).toContain(PEOPLE.gridLeader.name);
    expect(await page.textContent('#place-table')).toContain('渔子溪村第1网格');
    expect(await page.$('#chart svg polyline.line-confirmed')).not.toBeNull();
    await page.screenshot({ path: join(SHOTS, 'console-3-live.png'), fullPage: true });

    // The person who never answers: a door-to-door task from the page (the grid leader gets it),
    // then an on-site confirmation recorded from the page; the live count follows.
    const before = await confirmedCount(page);
    await page.click('#people-btn');
    const [dead] = (await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.deadMobile.ext,
    ])) as { id: string }[];
    const row = `#people-table tr[data-person="${dead.id}"]`;
    await page.waitForSelector(`${row} button[data-action=task]`);
    await page.click(`${row} button[data-action=task]`);
    await page.waitForFunction(`/✓/.test(document.querySelector('#flash').textContent)`);
    const tasks = await t.db.query(`SELECT type FROM manual_tasks WHERE warning_id = $1`, [
      warningId,
    ]);
    expect(tasks).toEqual(expect.arrayContaining([{ type: 'door_to_door' }]));
    await page.evaluate(`document.querySelector('#flash').textContent = ''`);
    // 再次呼叫 while they are still unanswered: a new voice call to their number, recorded by the
    // sandbox carrier.
    const carrier = t.sandbox!.carrier;
    const to = PEOPLE.deadMobile.mobile;
    const callsBefore = carrier.events({ type: 'call.created', to }).length;
    await page.waitForSelector(`${row} button[data-action=call]`);
    expect(await page.textContent(`${row} button[data-action=call]`)).toBe('再次呼叫');
    await page.click(`${row} button[data-action=call]`);
    await page.waitForFunction(`/✓|✗/.test(document.querySelector('#flash').textContent)`);
    expect(await page.textContent('#flash')).toContain('已发起再次呼叫 ✓');
    const callDeadline = Date.now() + 30_000;
    while (
      Date.now() < callDeadline &&
      carrier.events({ type: 'call.created', to }).length <= callsBefore
    ) {
      await page.waitForTimeout(200);
    }
    expect(carrier.events({ type: 'call.created', to }).length).toBeGreaterThan(callsBefore);
    await page.screenshot({ path: join(SHOTS, 'console-8-call-again.png'), fullPage: true });

    await page.evaluate(`document.querySelector('#flash').textContent = ''`);
    await page.click(`${row} button[data-action=confirm]`);
    await page.waitForFunction(`/✓/.test(document.querySelector('#flash').textContent)`);
    await page.waitForFunction(
      `Number(document.querySelector('#counts [data-state=confirmed] .n').textContent) > ${before}`,
      undefined,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: join(SHOTS, 'console-4-actions.png'), fullPage: true });
    await page.close();
  });

  it('a duty officer sees the histogram and updates the warning from the page', async () => {
    const page = await openWith(t.tokens.duty_officer);
    await page.click('[data-tab=watch]');
    await page.fill('#watch-id', warningId);
    await page.click('#watch-form button[type=submit]');
    await page.waitForSelector('#counts .card');

    // The histogram of issue → confirmation times, drawn from the same responses.
    await page.click('#hist-btn');
    await page.waitForSelector('#histogram svg rect.bar:not([data-count="0"])');
    expect((await page.$$('#histogram svg rect.bar')).length).toBeGreaterThan(0);

    // 更新预警: prefilled from version 1; a cleared headline is refused beside the field.
    await page.click('#update-open-btn');
    await page.waitForSelector('#update-form:not([hidden])');
    expect(await page.inputValue('#update-form [name=headline]')).toBe('渔子溪村滑坡临灾预警');
    expect(await page.inputValue('#update-form [name=areas]')).toContain('513221001001');
    expect(await page.getAttribute('#update-current', 'data-version')).toBe('1');
    await page.fill('#update-form [name=headline]', '');
    await page.click('#update-btn');
    await page.waitForSelector('#update-form [data-err-for=headline]:not(:empty)');
    expect(await page.textContent('#update-form [data-err-for=headline]')).toContain('标题');
    expect(await page.getAttribute('#update-form [name=headline]', 'class')).toContain('invalid');
    await page.screenshot({
      path: join(SHOTS, 'console-9-update-field-error.png'),
      fullPage: true,
    });

    await page.fill('#update-form [name=headline]', '渔子溪村滑坡临灾预警（更新）');
    await page.fill('#update-form [name=instruction]', '立即撤离至渔子溪小学避险点，勿返回');
    await page.click('#update-btn');
    await page.waitForSelector('#update-result[data-version="2"]');
    expect(await page.textContent('#update-result')).toContain('2');
    expect(await page.textContent('#update-form [data-err-for=headline]')).toBe('');
    const detail = await fetch(`${t.baseUrl}/v1/warnings/${warningId}`, {
      headers: { Authorization: `Bearer ${t.tokens.duty_officer}` },
    });
    const body = (await detail.json()) as {
      currentVersion: number;
      content: { headline: string };
    };
    expect(body.currentVersion).toBe(2);
    expect(body.content.headline).toBe('渔子溪村滑坡临灾预警（更新）');
    await page.screenshot({ path: join(SHOTS, 'console-10-updated.png'), fullPage: true });
    await page.close();
  });

  it('an update that changes only the level keeps effective, onset and expires exactly', async () => {
    // Times with seconds and milliseconds, as the API or a CAP import may carry them.
    const at = (hours: number, seconds: number, ms: number) => {
      const d = new Date(Date.now() + hours * 3600_000);
      d.setUTCSeconds(seconds, ms);
      return d.toISOString();
    };
    const effective = at(0, 37, 250);
    const onset = at(2, 12, 500);
    const expires = at(24, 41, 125);
    const issued = await t
      .http()
      .post('/v1/warnings')
      .set('Authorization', `Bearer ${t.tokens.duty_officer}`)
      .set('Idempotency-Key', 'console-update-times')
      .send({
        kind: 'meteorological_risk',
        level: 'blue',
        hazard: 'landslide',
        headline: '渔子溪村地质灾害气象风险蓝色预警',
        description: '未来24小时渔子溪村地质灾害风险较高',
        instruction: '责任人加强巡查',
        areas: ['513221001001'],
        effective,
        onset,
        expires,
      })
      .expect(201);
    const id = issued.body.id as string;

    // The page shows times in the browser's time zone: Beijing time here, to the second.
    const beijing = (iso: string) =>
      new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 19);
    const page = await openWith(t.tokens.duty_officer, { timezoneId: 'Asia/Shanghai' });
    await page.click('[data-tab=watch]');
    await page.fill('#watch-id', id);
    await page.click('#update-open-btn');
    await page.waitForSelector('#update-form:not([hidden])');
    expect(await page.inputValue('#update-form [name=effective]')).toBe(beijing(effective));
    expect(await page.inputValue('#update-form [name=onset]')).toBe(beijing(onset));
    expect(await page.inputValue('#update-form [name=expires]')).toBe(beijing(expires));

    // Only the level changes: the times stay exactly as issued (milliseconds too).
    await page.selectOption('#update-form [name=level]', 'yellow');
    await page.click('#update-btn');
    await page.waitForSelector('#update-result[data-version="2"]');
    const versions = () =>
      t.db.query(
        `SELECT version, level, content->>'effective' AS effective, content->>'onset' AS onset,
                content->>'expires' AS expires
           FROM warning_versions WHERE warning_id = $1 ORDER BY version`,
        [id],
      );
    expect(await versions()).toEqual([
      { version: 1, level: 'blue', effective, onset, expires },
      { version: 2, level: 'yellow', effective, onset, expires },
    ]);
    const [w] = await t.db.query(`SELECT expires_at FROM warnings WHERE id = $1`, [id]);
    expect((w.expires_at as Date).toISOString()).toBe(expires);

    // A time the officer edits is taken as entered (Beijing time), to the second.
    const later = new Date(Date.parse(expires) + 3600_000 + 5_000);
    later.setUTCMilliseconds(0);
    await page.click('#update-open-btn');
    // Loaded (the form is busy until then: what is typed before would be overwritten).
    await page.waitForSelector('#update-form:not([aria-busy])');
    await page.waitForSelector('#update-current[data-version="2"]');
    await page.fill('#update-form [name=expires]', beijing(later.toISOString()));
    await page.click('#update-btn');
    await page.waitForSelector('#update-result[data-version="3"]');
    expect((await versions())[2]).toEqual({
      version: 3,
      level: 'yellow',
      effective,
      onset,
      expires: later.toISOString(),
    });
    await page.screenshot({ path: join(SHOTS, 'console-13-update-times.png'), fullPage: true });
    await page.close();
  });

  it('an auditor sees the response-time histogram and the period report', async () => {
    const page = await openWith(t.tokens.auditor);
    await page.click('[data-tab=watch]');
    await page.fill('#watch-id', warningId);
    await page.click('#watch-form button[type=submit]');
    await page.waitForSelector('#counts .card');
    await page.click('#hist-btn');
    await page.waitForSelector('#histogram svg rect.bar:not([data-count="0"])');
    const bars = await page.$$eval('#histogram svg rect.bar', (rs) =>
      rs.map((r) => Number(r.getAttribute('data-count'))),
    );
    expect(bars.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(SHOTS, 'console-11-histogram.png'), fullPage: true });

    await page.click('[data-tab=audit]');
    await page.selectOption('#period-status', 'actual');
    await page.click('#period-form button[type=submit]');
    await page.waitForSelector('#period-table tr.group-row');
    expect((await page.$$('#period-table tr.group-row')).length).toBeGreaterThan(0);
    expect(await page.textContent('#period-table')).toContain('渔子溪');
    // Exercises are reported apart: none were issued, so no rows.
    await page.selectOption('#period-status', 'exercise');
    await page.click('#period-form button[type=submit]');
    await page.waitForFunction(`!document.querySelector('#period-table tr.group-row')`);
    await page.selectOption('#period-status', 'actual');
    await page.click('#period-form button[type=submit]');
    await page.waitForSelector('#period-table tr.group-row');
    await page.screenshot({ path: join(SHOTS, 'console-12-period-report.png'), fullPage: true });
    await page.close();
  });

  it('shares one LISTEN connection and one watch per warning between clients', async () => {
    const streams = t.app.get(ConsoleStreamService);
    const a = await openWith(t.tokens.auditor);
    const b = await openWith(t.tokens.duty_officer);
    for (const p of [a, b]) {
      await p.click('[data-tab=watch]');
      await p.fill('#watch-id', warningId);
      await p.click('#watch-form button[type=submit]');
      await p.waitForSelector('#counts .card');
    }
    // One watch for the warning, one LISTEN connection for the process, however many viewers.
    expect(streams.watched).toBe(1);
    expect(streams.listenConnections).toBe(1);
    expect(streams.clients).toBe(2);
    await a.close();
    await b.close();
  });

  it('refuses the stream to a grid member and to no token', async () => {
    const none = await fetch(`${t.baseUrl}/v1/console/warnings/${warningId}/stream`);
    expect(none.status).toBe(401);
    const grid = await fetch(
      `${t.baseUrl}/v1/console/warnings/${warningId}/stream?token=${t.tokens.grid_member}`,
    );
    expect(grid.status).toBe(403);
  });

  it('ends an open stream when its token is revoked or its jurisdiction changes', async () => {
    const streams = t.app.get(ConsoleStreamService);
    const tokens = t.app.get(TokensService);
    const recheckMs = streams.recheckMs;
    const resyncMs = streams.resyncMs;
    // Check every tick (1 s) instead of every 15 s, for the streams opened below; and send the
    // summary again on every tick, changed or not (the warning is quiet by now).
    streams.recheckMs = 0;
    streams.resyncMs = 0;
    const revoked = await tokens.create({
      name: 'console revoked',
      role: 'duty_officer',
      jurisdiction: '513221',
    });
    const moved = await tokens.create({
      name: 'console moved',
      role: 'duty_officer',
      jurisdiction: '513221',
    });

    interface Stream {
      status: number;
      text: string;
      ended: boolean;
      req: http.ClientRequest;
    }
    const open = (token: string): Stream => {
      const s = { status: 0, text: '', ended: false } as Stream;
      s.req = http.get(
        `${t.baseUrl}/v1/console/warnings/${warningId}/stream`,
        { headers: { Authorization: `Bearer ${token}` } },
        (res) => {
          s.status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (s.text += chunk));
          res.on('close', () => (s.ended = true));
        },
      );
      s.req.on('error', () => (s.ended = true));
      return s;
    };
    const summaries = (s: Stream) => (s.text.match(/^event: summary$/gm) ?? []).length;

    const a = open(revoked.token);
    const b = open(moved.token);
    const kept = open(t.tokens.auditor);
    const page = await openWith(revoked.token);
    try {
      await page.click('[data-tab=watch]');
      await page.fill('#watch-id', warningId);
      await page.click('#watch-form button[type=submit]');
      await page.waitForSelector('#counts .card');
      for (const s of [a, b, kept]) {
        await waitUntil(async () => summaries(s) > 0, 'a first summary');
        expect(s.status).toBe(200);
      }

      await t
        .http()
        .post(`/v1/tokens/${revoked.record.id}/revoke`)
        .set('Authorization', `Bearer ${t.tokens.admin}`)
        .expect(200);
      // No API moves a token to another jurisdiction; an operator's change in the database.
      await t.db.query(`UPDATE api_tokens SET jurisdiction = '510100' WHERE id = $1`, [
        moved.record.id,
      ]);

      await waitUntil(async () => a.ended && b.ended, 'the two streams to end');
      expect(a.text).toMatch(/event: end\ndata: {"reason":"token_revoked"}\n\n$/);
      expect(b.text).toMatch(/event: end\ndata: {"reason":"token_changed"}\n\n$/);
      // The page stops and says why instead of reconnecting.
      await page.waitForFunction(
        `/实时更新已停止/.test(document.querySelector('#live-status').textContent)`,
      );
      expect(await page.textContent('#flash')).toContain('访问令牌已吊销或权限已变更');
      await page.screenshot({ path: join(SHOTS, 'console-14-stream-ended.png'), fullPage: true });

      // The auditor's stream goes on.
      const seen = summaries(kept);
      await waitUntil(async () => summaries(kept) > seen, 'another summary for the auditor');
      expect(kept.ended).toBe(false);
      expect(kept.text).not.toContain('event: end');

      // Reconnecting with the revoked token is refused.
      const again = await fetch(
        `${t.baseUrl}/v1/console/warnings/${warningId}/stream?token=${revoked.token}`,
      );
      expect(again.status).toBe(401);
    } finally {
      streams.recheckMs = recheckMs;
      streams.resyncMs = resyncMs;
      for (const s of [a, b, kept]) s.req.destroy();
      await page.close();
    }
  });

  it('an auditor opens a person’s chain as a timeline, exports it and verifies the audit log', async () => {
    const page = await openWith(t.tokens.auditor);
    await page.click('[data-tab=audit]');
    const [resident] = (await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.resident.ext,
    ])) as { id: string }[];
    await page.fill('#audit-wid', warningId);
    await page.fill('#audit-pid', resident.id);
    await page.click('#chain-form button[type=submit]');
    await page.waitForSelector('#timeline li.ev');
    const text = await page.textContent('#timeline');
    expect(text).toContain('attempt_sent');
    expect(text).toContain('answer');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#csv-chains'),
    ]);
    expect(download.suggestedFilename()).toBe('chains.csv');
    await page.click('#verify-btn');
    await page.waitForSelector('#verify-result:not(:empty)');
    await page.screenshot({ path: join(SHOTS, 'console-5-auditor-chain.png'), fullPage: true });
    await page.close();
  });

  it('an auditor downloads the chains and the report as Excel from the audit tab', async () => {
    const page = await openWith(t.tokens.auditor, { acceptDownloads: true });
    await page.click('[data-tab=audit]');
    await page.fill('#audit-wid', warningId);

    /** Clicks an export button, waits for the download and reads the workbook it saved. */
    const workbook = async (button: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      expect(await download.failure()).toBeNull();
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(readFileSync((await download.path())!) as unknown as ArrayBuffer);
      return { name: download.suggestedFilename(), wb };
    };
    /** A sheet's rows (after the header row) as { header: value }. */
    const records = (ws: ExcelJS.Worksheet) => {
      const header = (ws.getRow(1).values as unknown[]).slice(1) as string[];
      const out: Record<string, unknown>[] = [];
      for (let i = 2; i <= ws.rowCount; i++) {
        const row = ws.getRow(i);
        out.push(Object.fromEntries(header.map((h, j) => [h, row.getCell(j + 1).value])));
      }
      return out;
    };

    const chains = await workbook('#xlsx-chains');
    expect(chains.name).toBe('chains.xlsx');
    const rows = records(chains.wb.getWorksheet('叫应链')!);
    const byName = new Map(rows.map((r) => [r['姓名'], r]));
    for (const p of [PEOPLE.villageChief, PEOPLE.gridLeader, PEOPLE.resident, PEOPLE.deadMobile])
      expect(byName.has(p.name)).toBe(true);
    // Values in Chinese, from the server's label tables; numbers masked for an auditor.
    expect(byName.get(PEOPLE.gridLeader.name)).toMatchObject({ 角色: '网格长', 状态: '求助' });
    expect(byName.get(PEOPLE.resident.name)).toMatchObject({ 角色: '居民', 状态: '已确认' });
    expect(byName.get(PEOPLE.deadMobile.name)).toMatchObject({
      状态: '已确认',
      应答渠道: '现场确认',
    });
    expect(byName.get(PEOPLE.villageChief.name)).toMatchObject({ 角色: '村级责任人' });
    for (const r of rows) expect(String(r['联系方式'])).toMatch(/\*{4}/);
    // Codes stay text (leading zeros and all 15 digits).
    expect(byName.get(PEOPLE.resident.name)!['网格代码']).toBe('513221001001001');
    expect(await page.textContent('#flash')).toContain('chains.xlsx ✓');

    const report = await workbook('#xlsx-report');
    expect(report.name).toBe('report.xlsx');
    const groups = records(report.wb.getWorksheet('统计')!);
    const village = groups.find((g) => g['分组'] === '513221001001')!;
    expect(village).toMatchObject({ 分组方式: '村', 名称: '渔子溪村' });
    expect(village['应叫人数']).toBeGreaterThanOrEqual(4);
    expect(village['已确认人数']).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: join(SHOTS, 'console-15-excel-export.png'), fullPage: true });
    await page.close();
  });

  it('a grid member sees their own grid and is refused another (403 shown)', async () => {
    const page = await openWith(t.tokens.grid_member);
    await page.click('[data-tab=grid]');
    await page.fill('#grid-code', '513221001001001');
    await page.click('#grid-form button[type=submit]');
    await page.waitForSelector('#grid-people td');
    expect(await page.textContent('#grid-people')).toContain(PEOPLE.resident.name);
    await page.fill('#grid-code', '513221001001002');
    await page.click('#grid-form button[type=submit]');
    await page.waitForSelector('#flash.bad');
    expect(await page.textContent('#flash')).toContain('403');
    await page.screenshot({ path: join(SHOTS, 'console-6-grid-403.png'), fullPage: true });
    await page.close();
  });

  it('a duty officer cancels the warning from the page', async () => {
    const page = await openWith(t.tokens.duty_officer);
    await page.click('[data-tab=watch]');
    await page.fill('#watch-id', warningId);
    await page.click('#watch-form button[type=submit]');
    await page.waitForSelector('#counts .card');
    await page.click('#cancel-btn');
    await page.waitForFunction(
      `/已解除预警|错误/.test(document.querySelector('#flash').textContent)`,
    );
    expect(await page.textContent('#flash')).toBe('已解除预警');
    const [w] = await t.db.query(`SELECT state FROM warnings WHERE id = $1`, [warningId]);
    expect(w.state).toBe('cancelled');
    await page.waitForFunction(`/已解除/.test(document.querySelector('#live-status').textContent)`);
    // Calling again after the warning ended: the API's 409 message is shown.
    const [resident] = (await t.db.query(`SELECT id FROM people WHERE external_id = $1`, [
      PEOPLE.resident.ext,
    ])) as { id: string }[];
    await page.click('#people-btn');
    // The list opens on the people not answered; the resident answered: show everyone.
    await page.click('#people-filter-buttons [data-filter=all]');
    await page.click(`#people-table tr[data-person="${resident.id}"] button[data-action=call]`);
    await page.waitForFunction(`/✗/.test(document.querySelector('#flash').textContent)`);
    expect(await page.textContent('#flash')).toContain('无法再次呼叫');
    expect(await page.getAttribute('#flash', 'class')).toBe('bad');
    await page.click('#lang');
    await page.screenshot({ path: join(SHOTS, 'console-7-cancelled-en.png'), fullPage: true });
    await page.close();
  });
});
