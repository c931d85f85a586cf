// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// the page loads with one row per upstream, follows status changes live, drains and reweights through
// PATCH with the bearer token, never talks to another origin, raises no CSP violation, reads at 375 px.
// Skipped, with a message, only when /usr/bin/chromium is missing (and ROUNDGUARD_REQUIRE_CHROMIUM is not
// set). The same page served by a real proxy process: dashboard-proxy.browser.test.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrafficHistory } from '../../src/dashboard/traffic-history.js';
import { closeAllBackends, httpBackend, type HttpBackend } from '../helpers/backends.js';
import { chromiumAvailable, launchChromium } from './chromium.js';
import {
  benchUpstream,
  startDashboardBench,
  startProber,
  startTrafficLoop,
  type DashboardBench,
} from './harness.js';

// Browser globals used inside page.evaluate() callbacks, typed as far as these tests use them: the
// proxy's tsconfig has no DOM library, and adding it would retype the Node.js code too.
interface PageElement {
  readonly textContent: string | null;
  readonly className: string;
  readonly classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { left: number; right: number };
}
declare const document: {
  readonly documentElement: { clientWidth: number; scrollWidth: number };
  readonly body: PageElement;
  readonly cookie: string;
  readonly head: { append(node: unknown): void };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  createElement(tag: string): { textContent: string };
  addEventListener(
    type: string,
    listener: (e: { violatedDirective: string; blockedURI: string }) => void,
  ): void;
};
declare const window: object;
declare const sessionStorage: { getItem(key: string): string | null };
declare function getComputedStyle(
  element: PageElement,
  pseudo?: string,
): { fontSize: string; display: string; content: string };

const hasChromium = chromiumAvailable('dashboard browser tests');
const TOKEN = 'correct horse battery staple';
const HOSTILE = `<img src=x onerror=alert(1)>"'</td>`;

/** A small deterministic random source (mulberry32), for the history shown in the screenshot. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  const started = Date.now();
  let backends: HttpBackend[];
  let bench: DashboardBench;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let stopProber: () => void;
  let stopTraffic: () => Promise<void>;
  /** Every URL the browser asked for, from every page of the context. */
  const requested: { method: string; url: string; headers: Record<string, string> }[] = [];
  /** Console errors and warnings, uncaught page errors and dialogs. */
  const problems: string[] = [];
  const name = (i: number): string => bench.upstreams[i]!.name;

  async function openPage(width = 1280, height = 800): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${origin}/`);
    await page.waitForSelector('#live[data-state="live"]', { timeout: 5000 });
    return page;
  }

  const row = (page: Page, upstream: string) => page.locator(`#rows tr[data-name="${upstream}"]`);

  async function cspViolations(page: Page): Promise<string[]> {
    return page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
  }

  async function setToken(page: Page, token: string): Promise<void> {
    await page.fill('#token', token);
    await page.click('#token-form button[type="submit"]');
  }

  beforeAll(async () => {
    backends = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        httpBackend((_req, res) => {
          // The second backend fails now and then, so one row shows an error share.
          const fail = i === 1 && Math.random() < 0.03;
          setTimeout(
            () => {
              res.statusCode = fail ? 503 : 200;
              res.end('ok');
            },
            1 + Math.random() * (i + 1) * 3,
          );
        }),
      ),
    );
    // A history whose clock the test can set, to fill the 5 minutes before the page is opened.
    let fakeMs: number | undefined;
    const shift = 1_000_000;
    const history = new TrafficHistory({ now: () => fakeMs ?? performance.now() + shift });
    const upstreams = backends.map((b) =>
      benchUpstream(`127.0.0.1:${b.port}`, b.url, { weight: b === backends[0] ? 2 : 1 }),
    );
    const rand = random(7);
    const end = performance.now() + shift;
    for (const [i, u] of upstreams.entries()) {
      fakeMs = end - 300_000;
      const recorder = history.upstream(u.name);
      for (let s = 300; s >= 1; s--) {
        fakeMs = end - s * 1000;
        const wave = 1 + 0.5 * Math.sin((s / 300) * Math.PI * (2 + i));
        const count = Math.round((i === 0 ? 24 : 12) * wave * (0.8 + 0.4 * rand()));
        for (let k = 0; k < count; k++) {
          const status = i === 1 && rand() < 0.03 ? 503 : 200;
          recorder.record(status, 0.001 * (1 + i) * Math.exp(rand() * 1.5));
        }
      }
    }
    fakeMs = undefined;
    bench = await startDashboardBench({ upstreams, token: TOKEN, history });
    origin = bench.url;
    stopProber = startProber(bench.upstreams, 400);
    stopTraffic = startTrafficLoop(history, bench.upstreams, 100, 20_000);
    browser = await launchChromium();
    // launch() gives the browser a fresh temporary user-data directory of its own.
    context = await browser.newContext();
    await context.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    context.on('request', (r) => requested.push({ method: r.method(), url: r.url(), headers: r.headers() }));
  });

  afterAll(async () => {
    await browser?.close();
    stopProber?.();
    await stopTraffic?.();
    await bench?.close();
    await closeAllBackends();
    console.info(`dashboard browser tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('loads the page with one row per upstream, live', async () => {
    const page = await openPage();
    const names = await page
      .locator('#rows tr')
      .evaluateAll((trs: PageElement[]) => trs.map((tr) => tr.getAttribute('data-name')));
    expect(names).toEqual(bench.upstreams.map((u) => u.name));
    await expect.poll(() => row(page, name(0)).locator('.state').textContent()).toBe('up');
    // Traffic shows: a rate, latencies and a sparkline with as many points as 5-second steps.
    await expect.poll(() => row(page, name(0)).locator('.col-p99').textContent()).toMatch(/^[\d.]+ (ms|s)$/);
    const points = await row(page, name(0)).locator('polyline').getAttribute('points');
    expect(points?.split(' ')).toHaveLength(60);
    // Without a token there are no buttons.
    await expect.poll(() => page.locator('#rows button').first().isVisible()).toBe(false);
    expect(await page.locator('#token-state').textContent()).toContain('Read-only');
    await page.close();
  });

  it('is readable without JavaScript: the first answer has the table', async () => {
    const noJs = await browser.newContext({ javaScriptEnabled: false });
    noJs.on('request', (r) => requested.push({ method: r.method(), url: r.url(), headers: r.headers() }));
    const page = await noJs.newPage();
    await page.goto(`${origin}/`);
    expect(await page.locator('#rows tr').count()).toBe(bench.upstreams.length);
    expect(await row(page, name(1)).locator('.state').textContent()).toBe('up');
    expect(await page.locator('#token-section').isVisible()).toBe(false);
    await noJs.close();
  });

  it('shows a row as down within 3 s of its backend going away, and rows come and go', async () => {
    const page = await openPage();
    const victim = name(3);
    const killed = Date.now();
    await backends[3]!.close();
    await page.waitForFunction(
      (n) => document.querySelector(`#rows tr[data-name="${n}"] .state`)?.textContent === 'down',
      victim,
      { timeout: 3000 },
    );
    const took = Date.now() - killed;
    expect(await row(page, victim).locator('.state').getAttribute('class')).toBe('state state-down');
    await expect.poll(() => row(page, victim).locator('.probe-error').textContent()).toBe('ECONNREFUSED');
    console.info(`row said down ${took} ms after its backend closed`);

    // A new upstream (with a hostile name) gets a row; its name is text, not markup.
    bench.upstreams.push(
      benchUpstream(HOSTILE, 'http://127.0.0.1:9/"><b>x</b>', { state: 'maint', lastProbe: null }),
    );
    await expect.poll(() => page.locator('#rows tr').count(), { timeout: 3000 }).toBe(5);
    const added = page.locator('#rows tr').nth(4);
    expect(await added.locator('.name').textContent()).toBe(HOSTILE);
    expect(await added.locator('.url').textContent()).toBe('http://127.0.0.1:9/"><b>x</b>');
    expect(await page.locator('#rows img, #rows b').count()).toBe(0);
    expect(await page.locator('#summary').textContent()).toBe('5 upstreams: 3 up, 1 down, 1 maint');
    bench.upstreams.pop();
    await expect.poll(() => page.locator('#rows tr').count(), { timeout: 3000 }).toBe(4);
    await page.close();
  });

  it('drains, puts in maintenance, brings back and reweights an upstream with the token, showing API errors', async () => {
    const page = await openPage();
    const target = name(0);
    const drain = row(page, target).getByRole('button', { name: `Drain ${target}` });

    // A wrong token: the API's 401 is shown in the page, nothing changes.
    await setToken(page, 'wrong token');
    await drain.click();
    await expect
      .poll(() => page.locator('#message').textContent())
      .toBe(`Drain ${target} failed: 401 UNAUTHORIZED: a valid bearer token is required`);
    expect(await page.locator('#message').getAttribute('class')).toBe('message error');
    expect(bench.upstreams[0]!.state).toBe('up');

    await page.click('#token-clear');
    await setToken(page, TOKEN);
    expect(await page.evaluate(() => sessionStorage.getItem('roundguard.adminToken'))).toBe(TOKEN);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(page.url()).toBe(`${origin}/`);

    const patchesBefore = bench.patches.length;
    await drain.click();
    await expect
      .poll(() => row(page, target).locator('.state').textContent(), { timeout: 3000 })
      .toBe('draining');
    const patch = bench.patches[patchesBefore]!;
    expect(patch).toEqual({
      name: target,
      authorization: `Bearer ${TOKEN}`,
      contentType: 'application/json',
      body: '{"state":"drain"}',
      status: 200,
    });
    const sent = requested.filter((r) => r.method === 'PATCH').at(-1)!;
    expect(sent.url).toBe(`${origin}/upstreams/${encodeURIComponent(target)}`);
    expect(sent.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(await page.locator('#message').textContent()).toBe(`Drain ${target}: done.`);

    await row(page, target)
      .getByRole('button', { name: `Maint ${target}` })
      .click();
    await expect
      .poll(() => row(page, target).locator('.state').textContent(), { timeout: 3000 })
      .toBe('maint');
    await row(page, target)
      .getByRole('button', { name: `Ready ${target}` })
      .click();
    await expect.poll(() => row(page, target).locator('.state').textContent(), { timeout: 3000 }).toBe('up');

    // Weight: a bad one is the API's 400, a good one shows in the row.
    const weight = row(page, name(1)).getByRole('spinbutton', { name: `Weight of ${name(1)}` });
    const setWeight = row(page, name(1)).getByRole('button', { name: `Set weight of ${name(1)}` });
    await weight.fill('2.5');
    await setWeight.click();
    await expect
      .poll(() => page.locator('#message').textContent())
      .toBe(
        `Weight 2.5 ${name(1)} failed: 400 INVALID_CHANGE: weight must be an integer from 0 to 1000000, got 2.5`,
      );
    await weight.fill('5');
    await weight.press('Enter');
    await expect
      .poll(() => row(page, name(1)).locator('.col-weight').textContent(), { timeout: 3000 })
      .toBe('5');
    expect(bench.patches.at(-1)).toMatchObject({ name: name(1), body: '{"weight":5}', status: 200 });

    // The token stays for the tab across a reload, and is never part of a URL.
    await page.reload();
    await page.waitForSelector('#live[data-state="live"]');
    expect(await page.evaluate(() => document.body.classList.contains('has-token'))).toBe(true);
    expect(
      requested.filter((r) => r.url.includes(encodeURIComponent(TOKEN)) || r.url.includes(TOKEN)),
    ).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  });

  it('reads on a 375 px wide phone: rows become cards, nothing sticks out', async () => {
    const page = await openPage(375, 812);
    await setToken(page, TOKEN);
    await page.locator('#rows button').first().waitFor({ state: 'visible' });
    const layout = await page.evaluate(() => {
      const out: string[] = [];
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth > width)
        out.push(`page scrolls sideways: ${document.documentElement.scrollWidth}`);
      for (const td of document.querySelectorAll('#rows td')) {
        const box = td.getBoundingClientRect();
        if (box.left < 0 || box.right > width + 0.5)
          out.push(`${td.className} spans ${box.left}..${box.right}`);
        const size = parseFloat(getComputedStyle(td).fontSize);
        if (size < 12) out.push(`${td.className} font ${size}px`);
      }
      return { out, display: getComputedStyle(document.querySelector('#rows tr')!).display };
    });
    expect(layout).toEqual({ out: [], display: 'block' });
    // Each value has its label beside it.
    const label = await row(page, name(0))
      .locator('.col-p99')
      .evaluate((td) => getComputedStyle(td, '::before').content);
    expect(label).toBe('"p99"');
    await page.screenshot({ path: join(tmpdir(), 'roundguard-dashboard-375.png'), fullPage: true });
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  });

  it('takes a screenshot of the page', async () => {
    bench.upstreams[2]!.state = 'draining';
    const page = await openPage(1280, 400);
    await setToken(page, TOKEN);
    await expect.poll(() => row(page, name(2)).locator('.state').textContent()).toBe('draining');
    await page.waitForTimeout(1200);
    const path = join(tmpdir(), 'roundguard-dashboard-bench.png');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await page.screenshot({ fullPage: true }));
    expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    bench.upstreams[2]!.state = 'up';
    await page.close();
  });

  it('enforces the policy: an injected inline script is refused and reported', async () => {
    const page = await openPage();
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = true;';
      document.head.append(s);
      return (window as unknown as { __inline?: boolean }).__inline === true;
    });
    expect(ran).toBe(false);
    await expect.poll(() => cspViolations(page)).toEqual([expect.stringMatching(/^script-src-elem inline$/)]);
    problems.splice(0, problems.length, ...problems.filter((p) => !p.includes('Content Security Policy')));
    await page.close();
  });

  it('sent every request to the admin origin and logged no error, CSP violation or dialog', () => {
    const elsewhere = requested.filter((r) => new URL(r.url).origin !== origin && !r.url.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    expect(requested.length).toBeGreaterThan(10);
    const kinds = new Set(requested.map((r) => `${r.method} ${new URL(r.url).pathname}`));
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining(['GET /', 'GET /dashboard.css', 'GET /dashboard.js', 'GET /events']),
    );
    // The only console lines are the API errors the tests provoked (401 and 400 answers).
    expect(problems.filter((p) => !/status of (401 \(Unauthorized\)|400 \(Bad Request\))/.test(p))).toEqual(
      [],
    );
  });
});
