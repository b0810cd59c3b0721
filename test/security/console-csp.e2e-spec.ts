import { type Browser, chromium } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'];

/**
 * Issue 11, item 8: the console runs under its Content-Security-Policy (no inline script or
 * style, no eval): the page loads, its script runs, it calls the API and opens its live stream,
 * and the browser reports no violation.
 */
describe('the console under its Content-Security-Policy', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestApp();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('works with no CSP violation', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) =>
        window.reportViolation(e.violatedDirective + ' ' + e.blockedURI));`,
    });
    const res = await page.goto(`${t.baseUrl}/console`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    // The script ran: it translates the page.
    await page.click('#lang');
    expect(await page.textContent('h1')).toBe('Warning duty console');
    await page.click('#lang');
    // It calls the API with the token (fetch, connect-src 'self').
    const api = page.waitForResponse((r) => r.url().includes('/v1/'));
    await page.fill('#token', t.tokens.duty_officer);
    await page.click('#token-form button[type=submit]');
    for (const tab of ['watch', 'audit', 'grid', 'issue']) await page.click(`[data-tab=${tab}]`);
    await page.click('#issue-form button[type=submit]').catch(() => undefined);
    await api.catch(() => undefined);
    // The stylesheet applied (style-src 'self').
    const display = await page.evaluate<string>(
      `getComputedStyle(document.querySelector('#tabs')).display`,
    );
    expect(display).toBe('flex');
    await page.waitForTimeout(300);
    expect(violations).toEqual([]);
    await page.close();
  });
});
