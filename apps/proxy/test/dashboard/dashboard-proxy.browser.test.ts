// The dashboard of a real proxy process (dist/main.js with --admin-token), in a real headless Chromium:
// one row per upstream from the first answer, a killed backend's row says `down` within 3 s, the token
// entered in the page drains an upstream through the write API (and the API reports it), nothing is
// requested from another origin. UPDATE_SCREENSHOT=1 also writes docs/dashboard.png (the README's).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN } from '../helpers/admin-api.js';
import { getUpstreams, postJson, waitFor } from '../helpers/http.js';
import {
  startEcho,
  startProxy,
  stopAllProcesses,
  type EchoProcess,
  type ProxyProcess,
} from '../helpers/processes.js';
import { chromiumAvailable, launchChromium } from './chromium.js';

declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  readonly documentElement: { clientWidth: number; scrollWidth: number };
};

const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const hasChromium = chromiumAvailable('dashboard browser tests against the proxy');

describe.skipIf(!hasChromium)('the dashboard of a running proxy, in Chromium', () => {
  const started = Date.now();
  let echoes: EchoProcess[];
  let proxy: ProxyProcess;
  let browser: Browser;
  let origin: string;
  const requested: { method: string; url: string }[] = [];
  const problems: string[] = [];
  let traffic = true;
  let trafficLoop: Promise<void>;
  const names = () => echoes.map((e) => `127.0.0.1:${e.port}`);

  async function openPage(width = 1280, height = 720): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height } });
    page.on('request', (r) => requested.push({ method: r.method(), url: r.url() }));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await page.goto(`${origin}/`);
    await page.waitForSelector('#live[data-state="live"]', { timeout: 5000 });
    return page;
  }

  const stateOf = (page: Page, name: string) =>
    page.locator(`#rows tr[data-name="${name}"] .state`).textContent();

  beforeAll(async () => {
    echoes = await Promise.all([
      startEcho({ name: 'a' }),
      startEcho({ name: 'b' }),
      startEcho({ name: 'c' }),
    ]);
    proxy = await startProxy(
      [
        ...echoes.flatMap((e) => ['--upstream', e.url]),
        '--health-interval',
        '300',
        '--health-timeout',
        '1000',
      ],
      { env: { ROUNDGUARD_ADMIN_TOKEN: TOKEN } },
    );
    origin = proxy.adminUrl;
    await waitFor(async () => (await getUpstreams(origin)).every((u) => u.state === 'up'), 'all up');
    // A bounded trickle of real requests through the proxy, so that rates and latencies show.
    trafficLoop = (async () => {
      for (let i = 0; i < 5000 && traffic; i++) {
        await postJson(`${proxy.url}/t`, { i }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    browser = await launchChromium();
  });

  afterAll(async () => {
    traffic = false;
    await trafficLoop;
    await browser?.close();
    await stopAllProcesses();
    console.info(
      `dashboard browser tests against the proxy took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it('serves the table in the first answer, with a strict CSP, one row per upstream', async () => {
    const res = await fetch(`${origin}/`);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    for (const name of names()) expect(html).toContain(`data-name="${name}"`);
    const page = await openPage();
    const rows = await page
      .locator('#rows tr')
      .evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { name: string } }).dataset.name));
    expect(rows).toEqual(names());
    for (const name of names()) await expect.poll(() => stateOf(page, name)).toBe('up');
    await expect
      .poll(() => page.locator(`#rows tr[data-name="${names()[0]}"] .col-p99`).textContent(), {
        timeout: 5000,
      })
      .toMatch(/^[\d.]+ (ms|s)$/);
    await page.close();
  });

  it('shows a killed backend as down within 3 s', async () => {
    const page = await openPage();
    const victim = names()[2] as string;
    const killed = Date.now();
    await echoes[2]!.stop('SIGKILL');
    await page.waitForFunction(
      (n) => document.querySelector(`#rows tr[data-name="${n}"] .state`)?.textContent === 'down',
      victim,
      { timeout: 3000 },
    );
    console.info(`row said down ${Date.now() - killed} ms after its backend was killed`);
    await page.close();
  });

  it('drains an upstream from the page with the token, and the API reports it', async () => {
    const page = await openPage();
    const target = names()[1] as string;
    // Without a token the buttons are hidden.
    expect(await page.locator(`#rows tr[data-name="${target}"] button`).first().isVisible()).toBe(false);
    await page.fill('#token', TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.getByRole('button', { name: `Drain ${target}` }).click();
    await expect.poll(() => stateOf(page, target), { timeout: 3000 }).toBe('draining');
    expect((await getUpstreams(origin)).find((u) => u.name === target)).toMatchObject({
      state: 'draining',
      adminState: 'drain',
    });
    expect(proxy.records.find((r) => r.msg === 'upstream changed')).toMatchObject({
      by: 'admin api',
      action: 'drain',
      upstream_name: target,
    });
    // The token went in a header, never in a URL.
    expect(requested.filter((r) => r.url.includes(TOKEN))).toEqual([]);

    await page.waitForTimeout(2500); // a few live updates with the drained and the dead row
    const path =
      process.env.UPDATE_SCREENSHOT === '1' ? SCREENSHOT : join(tmpdir(), 'roundguard-dashboard.png');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await page.screenshot({ fullPage: true }));

    await page.getByRole('button', { name: `Ready ${target}` }).click();
    await expect.poll(() => stateOf(page, target), { timeout: 3000 }).toBe('up');
    await page.close();
  });

  it('reads at phone width without sideways scrolling', async () => {
    const page = await openPage(375, 812);
    const { scroll, width } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: document.documentElement.clientWidth,
    }));
    expect(scroll).toBeLessThanOrEqual(width);
    await page.close();
  });

  it('requested nothing from another origin, and logged no page error', () => {
    const elsewhere = requested.filter((r) => new URL(r.url).origin !== origin && !r.url.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    const kinds = new Set(requested.map((r) => `${r.method} ${new URL(r.url).pathname}`));
    expect([...kinds]).toEqual(
      expect.arrayContaining(['GET /', 'GET /dashboard.js', 'GET /dashboard.css', 'GET /events']),
    );
    expect(kinds.has(`PATCH /upstreams/${encodeURIComponent(names()[1] as string)}`)).toBe(true);
    expect(problems).toEqual([]);
  });
});
