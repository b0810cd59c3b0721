import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { TokensService } from '../../src/modules/auth/tokens.service';
import { startTestApp, type TestApp } from '../helpers/app';
import { redCapAlert } from '../helpers/cap-alerts';
import { villageFixtureSql } from '../helpers/directory-fixture';
import { imminentWarning } from '../helpers/warning-bodies';

const APP_SECRET = 'console-approval-secret'.padEnd(40, 'y');
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'];

/** Two-person release in the console: a second duty officer approves a public red draft. */
describe('the console: approving another officer’s draft (two-person release)', () => {
  let t: TestApp;
  let browser: Browser;
  let second: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    process.env.APP_SECRET = APP_SECRET;
    t = await startTestApp({
      sandbox: true,
      seedSql: villageFixtureSql(APP_SECRET),
      env: { TWO_PERSON_RELEASE: 'red_public' },
    });
    second = (
      await t.app
        .get(TokensService)
        .create({ name: '县值班室（复核）', role: 'duty_officer', jurisdiction: '513221' })
    ).token;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function openWith(token: string): Promise<Page> {
    // waitForFunction evaluates strings, which the console's CSP forbids in the page.
    const page = await browser.newPage({
      viewport: { width: 1280, height: 1000 },
      bypassCSP: true,
    });
    await page.goto(`${t.baseUrl}/console`);
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('body[data-role]');
    await page.click('[data-tab=issue]');
    return page;
  }

  it('shows the draft to another officer, who approves it; the drafter cannot', async () => {
    const drafted = await t
      .http()
      .post('/v1/warnings')
      .set('Authorization', `Bearer ${t.tokens.duty_officer}`)
      .send(imminentWarning({ headline: '渔子溪村滑坡临灾预警（待复核）' }));
    expect(drafted.status).toBe(202);
    const draftId = drafted.body.id as string;

    // The drafter may not approve their own draft: said in Chinese.
    const own = await openWith(t.tokens.duty_officer);
    await own.fill('#approve-id', draftId);
    await own.click('#approve-load');
    await own.waitForSelector('#approve-btn:not([disabled])');
    await own.click('#approve-btn');
    await own.waitForFunction(`document.querySelector('#flash').className === 'err'`);
    expect(await own.textContent('#flash')).toContain('另一名值班员');
    await own.close();

    const page = await openWith(second);
    await page.fill('#approve-id', draftId);
    await page.click('#approve-load');
    await page.waitForSelector('#approve-btn:not([disabled])');
    const shown = await page.textContent('#approve-preview');
    expect(shown).toContain('渔子溪村滑坡临灾预警（待复核）');
    // Recipients per channel, each with its text.
    expect(shown).toContain('— 短信 · 4 人 —');
    expect(shown).toContain('— 语音电话 · 3 人 —');
    expect(shown).toContain('— 电子邮件 · 1 人 —');
    expect(shown).toContain('— 群机器人 · 1 个群 —');
    expect(shown).toContain('— 应急广播 · 1 台终端 —');
    await page.screenshot({ path: join(SHOTS, 'console-approval-1-draft.png'), fullPage: true });
    await page.click('#approve-btn');
    await page.waitForFunction(
      `document.querySelector('#flash').textContent.includes('已发布预警')`,
    );
    const [issued] = await t.db.query(
      `SELECT w.id FROM warnings w JOIN warning_versions v ON v.warning_id = w.id
        WHERE v.content->>'headline' = '渔子溪村滑坡临灾预警（待复核）'`,
    );
    expect(issued).toBeTruthy();
    await page.close();
  });

  it('shows where a drafted CAP import came from', async () => {
    const identifier = '51322100100000_20261206170000_1';
    const drafted = await t
      .http()
      .post('/v1/warnings/cap')
      .set('Authorization', `Bearer ${t.tokens.duty_officer}`)
      .set('Content-Type', 'application/xml')
      .send(redCapAlert('xz.example.cn', identifier, '县外转发：渔子溪村滑坡红色预警（待复核）'));
    expect(drafted.status).toBe(202);
    const page = await openWith(second);
    await page.fill('#approve-id', drafted.body.id as string);
    await page.click('#approve-load');
    await page.waitForSelector('#approve-btn:not([disabled])');
    const preview = await page.textContent('#approve-preview');
    expect(preview).toContain('CAP导入（发送方不在受信上游之列，须双人复核）: xz.example.cn');
    expect(preview).toContain(identifier);
    await page.screenshot({
      path: join(SHOTS, 'console-approval-2-cap-draft.png'),
      fullPage: true,
    });
    await page.close();
  });
});
