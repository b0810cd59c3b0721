import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { presetProfile } from '../../src/sandbox/person-profiles';
import { startTestApp, type TestApp } from '../helpers/app';
import { PEOPLE, villageFixtureSql } from '../helpers/directory-fixture';

const APP_SECRET = 'console-hazards-rosters'.padEnd(40, 'h');
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'];

/** The county and city duty offices a hazard report notifies. */
const extraSql = `
  INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
    ('P-HZ-C', '县值班员', 'duty_officer', '513221', NULL),
    ('P-HZ-S', '州值班员', 'duty_officer', '5132', NULL);
  INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
      ('P-HZ-C', '+8613800000711'), ('P-HZ-S', '+8613800000712')
    ) AS c(ext, mobile) ON c.ext = people.external_id;`;

/** The console's hazard reports, roster checks and roster report views. */
describe('the console: hazard reports, roster checks and the roster report', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({ sandbox: true, seedSql: villageFixtureSql(APP_SECRET) + extraSql });
    const s = t.sandbox!.carrier;
    s.setProfile(PEOPLE.villageChief.mobile, 'confirms');
    s.setProfile(PEOPLE.gridLeader.mobile, 'dead');
    s.setProfile(PEOPLE.townshipChief.mobile, 'confirms');
    // The duty offices do not answer: the report waits for the city.
    for (const mobile of ['+8613800000711', '+8613800000712'])
      s.setProfile(mobile, presetProfile('silent', { sms: { reply: null, deliverAfterMs: 100 } }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openWith(
    token: string,
    tab: string,
    viewport = { width: 1280, height: 1000 },
  ): Promise<Page> {
    // waitForFunction evaluates strings, which the console's CSP forbids in the page.
    const page = await browser.newPage({ viewport, bypassCSP: true });
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${t.baseUrl}/console`);
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('body[data-role]:not([data-role=""])');
    await page.click(`[data-tab=${tab}]`);
    return page;
  }

  // The roster check runs before any warning reaches the same people (no answer is taken for
  // another warning's).
  it('starts a roster check and shows per person whether each contact point works, and the numbers to fix', async () => {
    const page = await openWith(t.tokens.duty_officer, 'rosters');
    await page.fill('#rc-division', '513221');
    await page.click('#rc-start');
    await page.waitForSelector('#rc-result table');
    // The carrier answers over a few seconds: refresh until both are known.
    const chiefRow = `#rc-result tr[data-person-name="${PEOPLE.villageChief.name}"]`;
    const leaderRow = `#rc-result tr[data-person-name="${PEOPLE.gridLeader.name}"]`;
    // Read without waiting: a row not there yet (the check still on its way to that person, on a
    // loaded machine) must not stop the refreshing (page.textContent would wait 30 s for it).
    const textOf = async (selector: string) =>
      (await page.$(selector).then((e) => e?.textContent())) ?? '';
    const deadline = Date.now() + 30_000;
    for (;;) {
      const chiefText = await textOf(chiefRow);
      const leaderText = await textOf(leaderRow);
      if (leaderText.includes('空号/停机') && chiefText.includes('已应答')) break;
      if (Date.now() > deadline)
        throw new Error(`roster check results: ${chiefText} / ${leaderText}`);
      await page.waitForTimeout(500);
      await page.click('#rc-refresh');
    }
    expect(await page.textContent(chiefRow)).toContain('已应答');
    expect(await page.textContent(leaderRow)).toContain('空号/停机');
    expect(await page.textContent('#rc-fix')).toContain(PEOPLE.gridLeader.mobile);
    await page.screenshot({ path: join(SHOTS, 'console-roster-check.png'), fullPage: true });
    await page.close();
  });

  it('shows the roster report per county: last confirmed contacts, gaps and the filing status', async () => {
    const page = await openWith(t.tokens.auditor, 'rosters');
    // Auditors read; they do not start checks.
    expect(await page.isVisible('#rc-start')).toBe(false);
    await page.fill('#roster-division', '51');
    await page.click('#roster-load');
    await page.waitForSelector('#roster-result [data-county="513221"]');
    const county = await page.textContent('#roster-result [data-county="513221"]');
    expect(county).toContain('汶川县');
    expect(county).toContain('渔子溪滑坡隐患点'); // no monitor
    expect(county).toContain('渔子溪村第2网格'); // no responsible person
    expect(county).toContain('应报送日期');
    expect(county).toContain('未报送');
    expect(await page.textContent('#roster-result [data-county="510100"]')).toContain('成都市辖区');
    await page.screenshot({ path: join(SHOTS, 'console-roster-report.png'), fullPage: true });
    await page.close();
  });

  let reportId: string;

  it('lets a grid member file a hazard report on a phone-sized screen, graded at once', async () => {
    const page = await openWith(t.tokens.grid_member, 'hazards', { width: 390, height: 844 });
    expect(await page.isVisible('#hr-form')).toBe(true);
    // The duty officer's one-step warning is not offered to a grid member.
    expect(await page.isVisible('#hr-warn-btn')).toBe(false);
    await page.fill('#hr-form [name=hazardPoint]', 'HP-1');
    await page.fill('#hr-form [name=observed]', '后山出现长约50米的裂缝，房屋墙体开裂');
    await page.fill('#hr-form [name=peopleThreatened]', '600');
    await page.fill('#hr-form [name=reporterName]', '李网格');
    await page.fill('#hr-form [name=reporterPhone]', '+8613800000002');
    await page.click('#hr-submit');
    await page.waitForFunction(
      `document.querySelector('#flash').textContent.includes('险情已上报')`,
    );
    const flash = await page.textContent('#flash');
    expect(flash).toContain('险情已上报');
    expect(flash).toContain('大型');
    const [row] = await t.db.query(`SELECT id FROM hazard_reports ORDER BY created_at DESC`);
    reportId = row.id;
    // Nothing wider than the phone.
    expect(await page.evaluate(`document.documentElement.scrollWidth`)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SHOTS, 'console-hazard-1-phone-form.png'), fullPage: true });

    // A missing field is named in Chinese.
    await page.fill('#hr-form [name=observed]', '');
    await page.click('#hr-submit');
    await page.waitForFunction(`document.querySelector('#flash').className === 'bad'`);
    expect(await page.textContent('#hr-form [data-err-for=observed]')).toContain('不能为空');
    await page.close();
  });

  it('shows a duty officer the reports, one with its grade, acknowledgement chain and timeline, and drafts the imminent warning in one step', async () => {
    const page = await openWith(t.tokens.duty_officer, 'hazards');
    await page.click('#hr-refresh');
    await page.waitForSelector(`#hr-list [data-report="${reportId}"]`);
    expect(await page.textContent(`#hr-list [data-report="${reportId}"]`)).toContain('大型');
    await page.click(`#hr-list [data-report="${reportId}"] button`);
    await page.waitForSelector('#hr-detail h3');
    const detail = await page.textContent('#hr-detail');
    expect(detail).toContain('大型');
    expect(detail).toContain('渔子溪滑坡隐患点');
    expect(detail).toContain('待市级确认');
    expect(detail).toContain('县级值班室');
    expect(detail).toContain('市级值班室');
    expect(await page.textContent('#hr-timeline')).toContain('上报');
    // The county duty officer acknowledges from the page: the chain shows who and when.
    expect(await page.textContent('#hr-chain tr[data-level="county"]')).toContain('未确认');
    await page.click('#hr-ack-btn');
    await page.waitForFunction(
      `!document.querySelector('#hr-chain tr[data-level="county"]').textContent.includes('未确认')`,
    );
    expect(await page.textContent('#hr-chain tr[data-level="county"]')).toContain(
      'test duty_officer',
    );
    expect(await page.isVisible('#hr-ack-btn')).toBe(false);

    await page.click('#hr-warn-btn');
    await page.waitForFunction(
      `document.querySelector('#flash').textContent.includes('已发布预警')`,
    );
    const [issued] = await t.db.query(`SELECT warning_id FROM hazard_reports WHERE id = $1`, [
      reportId,
    ]);
    expect(issued.warning_id).toBeTruthy();
    // The report now names its warning.
    await page.click('[data-tab=hazards]');
    await page.click(`#hr-list [data-report="${reportId}"] button`);
    await page.waitForFunction(
      `document.querySelector('#hr-detail').textContent.includes('${issued.warning_id}')`,
    );
    await page.screenshot({ path: join(SHOTS, 'console-hazard-2-detail.png'), fullPage: true });

    // In English.
    await page.click('#lang');
    expect(await page.textContent('#hr-detail')).toContain('Large');
    await page.click('#lang');
    await page.close();
  });
});
