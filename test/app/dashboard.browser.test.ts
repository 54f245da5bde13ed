import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices, type TestService } from './support/test-service.js';

// Debian's chromium (`.ci/run` installs it); playwright-core never downloads a browser.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOT = join(ROOT, 'test-artifacts', 'dashboard.png');
const TOKEN = 'dashboard-test-admin-token';
/** Bounded waits on the DOM: real time in a real browser, but each one ends on an event. */
const WAIT = { timeout: 10_000 };

let service: TestService;
let context: BrowserContext;
let page: Page;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does.`);
  service = await startTestService({ POOL_KEEP_ALIVE: '1s', ADMIN_TOKEN: TOKEN });
  profile = mkdtempSync(join(tmpdir(), 'rcp-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(`${service.url}/`);
  await page.waitForSelector('#connection-status[data-connected="true"]', WAIT);
}, 30_000);

afterAll(async () => {
  await context?.close();
  await stopTestServices();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// Code that runs in the page is typed with PageDom: the project's TypeScript configuration has
// no DOM library. Waits pass functions, not strings: the page's Content-Security-Policy forbids
// eval, and the test keeps it enforced.
interface PageDom {
  readonly document: {
    querySelectorAll(selector: string): ArrayLike<{ readonly textContent: string | null }>;
  };
}

/** Waits until, for every `[selector, n]`, exactly n elements match (checked as the DOM changes), at most WAIT. */
function untilCounts(...counts: Array<[string, number]>): Promise<unknown> {
  return page.waitForFunction(
    (expected) => expected.every(([selector, n]) => (globalThis as unknown as PageDom).document.querySelectorAll(selector).length === n),
    counts,
    WAIT,
  );
}

/** Waits until an element matching `selector` has text matching `pattern`, at most WAIT. */
function untilText(selector: string, pattern: RegExp): Promise<unknown> {
  return page.waitForFunction(
    ([css, source]) => Array.from((globalThis as unknown as PageDom).document.querySelectorAll(css)).some((element) => new RegExp(source).test(element.textContent ?? '')),
    [selector, pattern.source] as const,
    WAIT,
  );
}

/** Records every state each tile goes through (from attribute mutations, so none is missed). */
async function recordTileStates(): Promise<void> {
  await page.evaluate(`(() => {
    const seen = {};
    window.tileStates = seen;
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.classList && node.classList.contains('tile')) (seen[node.dataset.connectionId] ??= []).push('+');
        }
        if (record.type === 'attributes') (seen[record.target.dataset.connectionId] ??= []).push(record.oldValue ?? '');
      }
    }).observe(document.getElementById('tiles'), { childList: true, subtree: true, attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
  })()`);
}

async function tileStates(): Promise<Record<string, string[]>> {
  return page.evaluate('window.tileStates');
}

describe('the dashboard, in a real headless Chromium', () => {
  it('serves a page that loads nothing from elsewhere and runs no inline script (its CSP is enforced throughout)', async () => {
    const response = await service.fetch('/');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.text).not.toMatch(/<script>(?!<)/);
    expect(response.text).not.toMatch(/https?:\/\//);
    expect(await page.locator('#tiles-empty').isVisible()).toBe(true);
    expect(await page.locator('#upstream').textContent()).toContain('embedded, http/1.1');
  });

  it('shows reuse: requests in sequence keep one tile, and the reused counter climbs', async () => {
    for (let i = 0; i < 6; i++) expect((await service.fetch('/proxy/echo')).status).toBe(200);
    await page.waitForSelector('#count-reused[data-value="5"]', WAIT);
    expect(await page.locator('.tile').count()).toBe(1);
    expect(await page.locator('#count-acquired').getAttribute('data-value')).toBe('6');
    // Keep-alive (1 s) takes it away before the next test counts tiles.
    await untilCounts(['.tile', 0]);
  });

  it('draws a tile per connection as traffic arrives, changes its state with the events, and removes it when keep-alive expires', async () => {
    const counter = async (name: string): Promise<number> => Number(await page.locator(`#count-${name}`).getAttribute('data-value'));
    const [connectsBefore, closedBefore] = [await counter('connects'), await counter('closed')];
    await recordTileStates();
    const requests = Promise.all([service.fetch('/proxy/delay/1500'), service.fetch('/proxy/delay/1500'), service.fetch('/proxy/delay/300')]);
    await untilCounts(['.tile[data-state="inUse"]', 3]);
    expect(await counter('inUse')).toBe(3);
    expect(await counter('connects')).toBe(connectsBefore + 3);

    // The short request ends first: its connection idles while the others are still in use.
    await untilCounts(['.tile[data-state="idle"]', 1], ['.tile[data-state="inUse"]', 2]);
    await page.waitForSelector('#tick-list li', WAIT);
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const responses = await requests;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    // Keep-alive is 1 s: every tile goes, through "evicted".
    await page.waitForSelector('.tile[data-state="evicted"]', WAIT);
    await untilCounts(['.tile', 0]);
    expect(await page.locator('#tiles-empty').isVisible()).toBe(true);
    expect(await counter('closed')).toBe(closedBefore + 3);

    const states = await tileStates();
    expect(Object.keys(states)).toHaveLength(3);
    for (const [id, sequence] of Object.entries(states)) {
      // Added, then left each state in turn: connecting -> idle (connected) -> inUse -> idle (released) -> evicted.
      expect(sequence, id).toEqual(['+', 'connecting', 'idle', 'inUse', 'idle']);
    }
    const closedRows = page.locator('#log-body tr[data-type="connection-closed"]');
    expect(await closedRows.count()).toBe(4);
    expect(await closedRows.allTextContents()).toEqual(Array(4).fill(expect.stringContaining('reason: keep-alive-expired')));
  });

  it("lists the cleanup stream's ticks with the delay each returned, down to the stop (-1)", async () => {
    await page.waitForSelector('#tick-list li[data-delay="-1"]', WAIT);
    const delays = await Promise.all((await page.locator('#tick-list li').all()).map(async (item) => Number(await item.getAttribute('data-delay'))));
    expect(delays[0]).toBe(-1);
    expect(delays.some((delay) => delay > 0 && delay <= 1_000)).toBe(true);
    expect(await page.locator('#next-tick').textContent()).toContain('stopped');
  });

  it('filters the event log by category and by text', async () => {
    const leaseRows = page.locator('#log-body tr[data-category="lease"]');
    expect(await leaseRows.count()).toBeGreaterThanOrEqual(6);
    await page.locator('#log-filters input[data-category="lease"]').uncheck();
    expect(await page.locator('#log-body tr[data-category="lease"]:not([hidden])').count()).toBe(0);
    expect(await page.locator('#log-body tr[data-category="close"]:not([hidden])').count()).toBe(4);
    await page.locator('#log-filters input[data-category="lease"]').check();
    await page.locator('#log-search').fill('keep-alive-expired');
    expect(await page.locator('#log-body tr:not([hidden])').count()).toBe(4);
    await page.locator('#log-search').fill('');
    expect(await page.locator('#log-body tr[data-category="lease"]:not([hidden])').count()).toBe(await leaseRows.count());
  });

  it('evicts a connection from its tile with the admin token: it closes when its request ends', async () => {
    const pending = service.fetch('/proxy/delay/1000');
    await page.waitForSelector('.tile[data-state="inUse"]', WAIT);
    await page.locator('#admin-token').fill(TOKEN);
    await page.locator('.tile[data-state="inUse"] .evict').click();
    await untilText('#traffic-result', /^evicted c\d+ \(closes when its request ends\)$/);
    expect((await pending).status).toBe(200);
    await untilText('#log-body tr[data-type="connection-closed"]', /reason: evicted/);
    await untilCounts(['.tile', 0]);
  });

  it('drew its chart and raised no script error', async () => {
    const painted = await page.evaluate(`(() => {
      const canvas = document.getElementById('chart');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let colored = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) colored++;
      return colored;
    })()`);
    expect(painted).toBeGreaterThan(1_000);
    expect((page as Page & { problems?: string[] }).problems).toEqual([]);
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
