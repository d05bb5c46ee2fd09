import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../src/dashboard/server.js';
import { redisFleet } from '../src/redis/index.js';
import { SessionPool } from '../src/session-pool.js';
import { listenWithFallback } from '../src/testing/listen.js';
import { compiledPath } from './compiled.js';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  type DashboardHooks,
  type DeltaData,
  openSse,
  type SnapshotData,
  type SseReader,
} from './dashboard-helpers.js';
import { RedisServer, redisMissing } from './redis/redis-server.js';

let pool: SessionPool | undefined;
let dashboard: Dashboard | undefined;
const readers: SseReader[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  await dashboard?.close();
  await pool?.teardown();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  dashboard = undefined;
  pool = undefined;
});

async function setup(maxPoolSize = 100, options: Parameters<typeof startDashboard>[1] = {}) {
  pool = await SessionPool.open({ maxPoolSize });
  dashboard = await startDashboard(pool, { flushIntervalMs: 20, ...options });
  return { pool, dashboard };
}

async function sse(url: string): Promise<SseReader> {
  const reader = await openSse(url);
  readers.push(reader);
  return reader;
}

/** Collects a child process's stdout and stderr, and waits until it prints the dashboard's URL. */
async function dashboardUrlOf(child: ChildProcess): Promise<{ url: string; output: () => string }> {
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  await expect.poll(() => /Dashboard: (\S+)/.exec(output)?.[1], { timeout: 20_000 }).toBeDefined();
  return { url: /Dashboard: (\S+)/.exec(output)![1]!, output: () => output };
}

describe('dashboard server', () => {
  it('serves one self-contained page: no external scripts, styles or images, a strict CSP', async () => {
    const { dashboard } = await setup();
    const page = await request(dashboard.url);
    const html = await page.body.text();
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
    expect(html).toContain('<canvas id="tiles">');
  });

  it('streams a snapshot, then batched tile changes as sessions change state and retire', async () => {
    const { pool, dashboard } = await setup();
    const first = await pool.addSession({ id: 'a' });
    const events = await sse(`${dashboard.url}events`);
    const snapshot = (await events.next((e) => e.event === 'snapshot')).data as SnapshotData;
    expect(snapshot.ids).toEqual(['a']);
    expect(snapshot.states[snapshot.codes[0]!]).toBe('fresh');

    first.markBad();
    const code = (state: string) => snapshot.states.indexOf(state);
    // A batch pending when the page connected may arrive first; it repeats what the snapshot said.
    const degraded = (
      await events.next((e) => e.event === 'delta' && (e.data as DeltaData).tiles[1] !== code('fresh'))
    ).data as DeltaData;
    expect(degraded.tiles).toEqual([0, code('degraded')]);
    expect(degraded.counts).toMatchObject({ fresh: 0, degraded: 1 });

    first.retire();
    const retired = (await events.next((e) => e.event === 'delta' && (e.data as DeltaData).tiles.length > 0))
      .data as DeltaData;
    expect(retired.tiles).toEqual([0, code('retired')]);
    expect(retired.retiredNow).toEqual({ manual: 1 });
    expect(retired.counts.degraded).toBe(0);
  });

  it('streams the pool stats, uses reserved by requests in flight included', async () => {
    const { pool, dashboard } = await setup(1);
    await pool.addSession({ id: 'a' });
    const events = await sse(`${dashboard.url}events`);
    const snapshot = (await events.next((e) => e.event === 'snapshot')).data as SnapshotData;
    expect(snapshot.stats.uses.reserved).toBe(0);
    const lease = await pool.acquire();
    const reserved = (
      await events.next((e) => e.event === 'delta' && (e.data as DeltaData).stats?.uses.reserved === 1)
    ).data as DeltaData;
    expect(reserved.stats?.sessions.live).toBe(1);
    lease.markGood();
    const released = (
      await events.next((e) => e.event === 'delta' && (e.data as DeltaData).stats?.uses.good === 1)
    ).data as DeltaData;
    expect(released.stats?.uses.reserved).toBe(0);
  });

  it('reuses the slot of a retired session once it has lingered, so the grid stays the pool size', async () => {
    const { pool, dashboard } = await setup(10, { retiredLingerMs: 0 });
    const events = await sse(`${dashboard.url}events`);
    await events.next((e) => e.event === 'snapshot');
    (await pool.addSession({ id: 'old' })).retire();
    await pool.addSession({ id: 'new' });
    const delta = (
      await events.next((e) => e.event === 'delta' && Object.keys((e.data as DeltaData).ids).length > 0)
    ).data as DeltaData;
    expect(Object.values(delta.ids)).toContain('new');
    const snapshot = (await (await request(`${dashboard.url}api/snapshot`)).body.json()) as SnapshotData;
    expect(snapshot.ids).toEqual(['new']);
  });

  it('shows a session context with cookie values and credentials redacted, retired ones included', async () => {
    pool = await SessionPool.open({
      proxyUrls: ['http://proxyuser:proxypass@127.0.0.1:9'],
      headerProfiles: [{ name: 'desktop', headers: { authorization: 'Bearer abc123' } }],
    });
    dashboard = await startDashboard(pool);
    const session = await pool.addSession({
      id: 'with/slash',
      userData: { apiToken: 'hunter2', proxy: 'http://u:p@h:1' },
    });
    session.setCookie('sid=SECRET-VALUE; Path=/', 'http://127.0.0.1/');
    const live = await request(`${dashboard.url}api/sessions/${encodeURIComponent('with/slash')}`);
    const text = await live.body.text();
    expect(live.statusCode).toBe(200);
    expect(JSON.parse(text)).toMatchObject({
      id: 'with/slash',
      state: 'fresh',
      userData: { apiToken: '[redacted]' },
    });
    expect(text).not.toContain('SECRET-VALUE');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('u:p@');
    expect(text).not.toContain('proxypass');
    expect(text).not.toContain('abc123');
    expect(JSON.parse(text).proxyUrl).toContain('127.0.0.1:9');
    expect(text).toContain('"key":"sid"');

    session.retire();
    const retired = await request(`${dashboard.url}api/sessions/${encodeURIComponent('with/slash')}`);
    expect(await retired.body.json()).toMatchObject({
      id: 'with/slash',
      state: 'retired',
      retirementReason: 'manual',
    });
    expect((await request(`${dashboard.url}api/sessions/nope`)).statusCode).toBe(404);
  });

  it('refuses other Host names (DNS rebinding) and methods other than GET', async () => {
    const { dashboard } = await setup();
    const rebound = await request(`${dashboard.url}api/snapshot`, { headers: { host: 'evil.example:80' } });
    expect(rebound.statusCode).toBe(403);
    await rebound.body.dump();
    const post = await request(`${dashboard.url}api/snapshot`, { method: 'POST' });
    expect(post.statusCode).toBe(405);
    await post.body.dump();
  });

  it('keeps the pool and other clients going when a client disconnects mid-stream', async () => {
    const { pool, dashboard } = await setup();
    const leaving = await sse(`${dashboard.url}events`);
    const staying = await sse(`${dashboard.url}events`);
    await leaving.next((e) => e.event === 'snapshot');
    await staying.next((e) => e.event === 'snapshot');
    expect(dashboard.clientCount).toBe(2);
    leaving.response.socket.destroy();
    for (let i = 0; i < 20; i += 1) (await pool.getSession()).markGood();
    const delta = (await staying.next((e) => e.event === 'delta')).data as DeltaData;
    expect(delta.tiles.length).toBeGreaterThan(0);
    await expect.poll(() => dashboard.clientCount).toBe(1);
    expect(pool.sessionsCount).toBe(20);
    const again = await sse(`${dashboard.url}events`);
    expect(((await again.next((e) => e.event === 'snapshot')).data as SnapshotData).ids).toHaveLength(20);
  });

  it('picks another port when the one asked for is busy', async () => {
    const busy = createServer();
    servers.push(busy);
    const { port } = await listenWithFallback(busy, '127.0.0.1', 0);
    const { dashboard } = await setup(10, { port });
    expect(dashboard.portFellBack).toBe(true);
    expect(dashboard.port).not.toBe(port);
    expect((await request(dashboard.url)).statusCode).toBe(200);
  });

  it('rejects bad options with an InvalidOptionError naming the field', async () => {
    pool = await SessionPool.open();
    await expect(startDashboard(pool, { port: 70_000 })).rejects.toMatchObject({ field: 'port' });
    await expect(startDashboard(pool, { flushIntervalMs: 0 })).rejects.toMatchObject({
      field: 'flushIntervalMs',
    });
  });
});

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && !process.env.CI) {
  console.warn(`Skipping the Chromium dashboard tests: ${CHROMIUM} is missing (apt-get install chromium).`);
}

describe.skipIf(!hasChromium && !process.env.CI)('dashboard in headless Chromium', () => {
  let browser: Browser;
  let child: ChildProcess | undefined;
  let stateDir: string;

  beforeAll(async () => {
    if (!hasChromium)
      throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run must apt-get install chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    stateDir = mkdtempSync(join(tmpdir(), 'dashboard-test-'));
    mkdirSync('test-results', { recursive: true });
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await browser?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('shows tiles changing state during a demo crawl and a session context on click', async () => {
    child = spawn(
      process.execPath,
      [
        compiledPath('src/cli/main.ts'),
        'demo',
        '--dashboard',
        '--pages',
        '4000',
        '--delay',
        '100',
        '--sessions',
        '60',
        '--concurrency',
        '8',
        '--state-dir',
        stateDir,
        '--fresh',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const { url, output } = await dashboardUrlOf(child);

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(url);
    await expect
      .poll(() => page.evaluate(() => window.dashboard.tileCount()), { timeout: 10_000 })
      .toBeGreaterThan(5);
    const before = await page.evaluate(() => window.dashboard.states());
    await expect
      .poll(
        async () => {
          const now = await page.evaluate(() => window.dashboard.states());
          return before.some((state, slot) => now[slot] !== state);
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    expect(await page.textContent('#status')).toBe('live');
    expect(Number(await page.textContent('[data-count="active"]'))).toBeGreaterThan(0);

    const center = await page.evaluate(() => window.dashboard.slotCenter(0));
    await page.mouse.click(center.x, center.y);
    await expect.poll(() => page.evaluate(() => window.dashboard.selected())).toBe(0);
    await expect.poll(() => page.textContent('#context'), { timeout: 5_000 }).toContain('"id"');
    const context = JSON.parse((await page.textContent('#context'))!);
    expect(context.id).toBe(await page.evaluate(() => window.dashboard.idOf(0)));
    for (const cookie of context.cookieJar?.cookies ?? []) expect(cookie.value).toBe('[redacted]');
    // The session's reserved uses and readiness are shown with it; the pool's counters below.
    expect(context).toMatchObject({ reservedUses: expect.any(Number), readiness: expect.any(String) });
    await expect.poll(() => page.textContent('#stats'), { timeout: 5_000 }).toContain('use/check-passed');
    expect(await page.textContent('#stats')).toContain('uses in flight');

    const screenshot = 'test-results/dashboard-crawl.png';
    await page.screenshot({ path: screenshot });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);

    // The browser going away never breaks the crawl: it goes on until Ctrl-C, which ends it cleanly.
    await page.close();
    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(output()).toContain('Demo crawl interrupted');
    child = undefined;
  });

  it.skipIf(redisMissing())(
    "shows a fleet pool's fleet counters: requests, leases, retirements heard (real redis-server)",
    async () => {
      const server = await RedisServer.start();
      try {
        // One use per grant: each of the three requests is a grant of its own.
        pool = await SessionPool.open({
          maxPoolSize: 3,
          fleet: redisFleet({ redisUrl: server.url, usesPerGrant: 1 }),
        });
        dashboard = await startDashboard(pool, { flushIntervalMs: 20 });
        const page = await browser.newPage();
        await page.goto(dashboard.url);
        await pool.withSession((session) => session.markGood());
        await pool.withSession((session) => session.retire());
        // The next grant's reply carries the fleet's retirements since the last one.
        await pool.withSession((session) => session.markGood());
        // A use ends in Redis after withSession returns: the last release lands a moment later.
        await expect.poll(() => pool?.stats().fleet?.requests, { timeout: 5_000 }).toBe(3);
        const fleet = pool.stats().fleet;
        expect(fleet).toMatchObject({ leasesGranted: 3, retiredByReason: { manual: 1 } });
        // Stats reach the page at most once a second.
        await expect
          .poll(() => page.textContent('#stats'), { timeout: 5_000 })
          .toContain(`fleet              connected, requests 3, round trips ${fleet?.roundTrips}`);
        const text = await page.textContent('#stats');
        expect(text).toContain('fleet leases       granted 3, lost 0, expired 0');
        expect(text).toContain('fleet retired      manual 1');
        await page.close();
      } finally {
        await dashboard?.close();
        await pool?.teardown();
        dashboard = undefined;
        pool = undefined;
        await server.close();
      }
    },
  );

  it('keeps up with 10,000 sessions: every tile drawn and in step with the pool', async () => {
    // In a child process: tearing down 10,000 session actors takes XState tens of seconds, killing a process none.
    // 12 rounds of 150 ms: churn outlasts several 200 ms flushes even when the page connects after it has begun.
    child = spawn(process.execPath, [compiledPath('examples/dashboard-10k.ts'), '10000', '12'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { url, output } = await dashboardUrlOf(child);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(url);
    await expect.poll(output, { timeout: 40_000 }).toContain('churn done');
    const expected = ((await (await request(`${url}api/snapshot`)).body.json()) as SnapshotData).codes;
    expect(expected.length).toBeGreaterThanOrEqual(10_000);
    await expect
      .poll(() => page.evaluate(() => window.dashboard.states()), { timeout: 10_000 })
      .toEqual(
        expected.map((code) => ['fresh', 'active', 'degraded', 'blocked', 'expired', 'retired'][code]),
      );
    const retired = Number(/(\d+) retired/.exec(output())![1]);
    expect(retired).toBeGreaterThan(0);
    expect(await page.textContent('[data-count="retired"]')).toBe(String(retired));
    expect(await page.evaluate(() => window.dashboard.deltaCount())).toBeGreaterThan(3);
    await page.screenshot({ path: 'test-results/dashboard-10k.png' });
    expect(errors).toEqual([]);
    await page.close();
    child.kill('SIGKILL');
    child = undefined;
  }, 90_000);
});

// The tests are type-checked without the DOM library; this is what page.evaluate callbacks see.
declare const window: { dashboard: DashboardHooks };
