import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { InspectorStartError, InvalidOptionError, SessionPool } from '../src/index.js';
import {
  createSanitizedInspector,
  type InspectorServer,
  type RunningInspector,
  redactCredentials,
  sanitizeValue,
  startInspector,
  startInspectorServer,
} from '../src/inspect/index.js';
import { ReplayBuffer } from '../src/inspect/replay-buffer.js';
import { compiledPath } from './compiled.js';

interface Message {
  type: string;
  name?: string;
  sessionId: string;
  parentId?: string;
  definition?: string;
  event?: { type: string; [key: string]: unknown };
  snapshot?: { status?: string; value?: unknown; context?: Record<string, unknown>; children?: object };
}

/** A "browser": a WebSocket client of the relay that records every message it is sent. */
interface Browser {
  raw: string[];
  messages: Message[];
  waitFor(what: string, predicate: () => boolean): Promise<void>;
  close(): void;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connectBrowser(wsUrl: string, headers?: Record<string, string>): Promise<Browser> {
  const socket = new WebSocket(wsUrl, headers ? { headers } : undefined);
  const raw: string[] = [];
  const messages: Message[] = [];
  socket.addEventListener('message', (event) => {
    raw.push(String(event.data));
    messages.push(JSON.parse(String(event.data)) as Message);
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('error', () => reject(new Error('WebSocket refused')));
  });
  const browser: Browser = {
    raw,
    messages,
    async waitFor(what, predicate) {
      // A bound on waiting, not a timing assertion: inspection events are delivered asynchronously.
      for (let waited = 0; !predicate(); waited += 20) {
        if (waited > 20_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => socket.close(),
  };
  cleanups.push(() => browser.close());
  return browser;
}

async function inspector(options: Parameters<typeof startInspector>[0] = {}): Promise<RunningInspector> {
  const running = await startInspector(options);
  cleanups.push(() => running.close());
  return running;
}

async function openPool(options: ConstructorParameters<typeof SessionPool>[0]): Promise<SessionPool> {
  const pool = await SessionPool.open(options);
  cleanups.push(() => pool.teardown());
  return pool;
}

function registrations(browser: Browser): Message[] {
  return browser.messages.filter((message) => message.type === '@xstate.actor');
}

/** The inspector's id of the actor registered under `name` (the session id, for sessions). */
function inspectedIdOf(browser: Browser, name: string): string | undefined {
  return registrations(browser).find((message) => message.name === name)?.sessionId;
}

/** Status of a plain GET with the given Host header (fetch cannot set Host). */
function httpStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

/** Status of a WebSocket upgrade request with the given headers: 101 if accepted. */
function upgradeStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A repository module as compiled for child processes (test/compiled.ts). */
function sourceUrl(path: string): string {
  return pathToFileURL(compiledPath(path)).href;
}

/** Runs an ES module (plain JavaScript) in a child process; a bound on waiting, not a timing assertion. */
async function runScript(source: string): Promise<{ code: number | null; stdout: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'session-supervisor-inspect-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'script.mjs');
  await writeFile(file, source);
  const child = spawn(process.execPath, [file], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) =>
    child.on('exit', (exitCode) => resolve(exitCode)),
  );
  clearTimeout(timer);
  return { code, stdout };
}

describe('startInspector (relay + sanitized inspector)', () => {
  it('delivers the registration of every actor and the events crawler code sends', async () => {
    const running = await inspector();
    const browser = await connectBrowser(running.wsUrl);
    const pool = await openPool({ inspect: running.inspect, maxPoolSize: 300, shardCapacity: 64 });
    const sessions = [];
    for (let index = 0; index < 300; index += 1) sessions.push(await pool.getSession());
    const [first, second] = sessions;
    first!.markGood();
    pool.send(second!.id, { type: 'session.markBad' });

    // 1 pool + 5 shards (300 sessions / 64) + 300 sessions.
    await browser.waitFor('every registration', () => registrations(browser).length >= 306);
    const names = new Set(registrations(browser).map((message) => message.name));
    for (const session of sessions) expect(names).toContain(session.id);
    for (const shard of ['shard-0', 'shard-1', 'shard-2', 'shard-3', 'shard-4'])
      expect(names).toContain(shard);
    expect(registrations(browser)).toHaveLength(306);

    // The tree is intact: sessions hang under shards, shards under the pool.
    const rootId = inspectedIdOf(browser, 'pool');
    const shardIds = new Set(
      registrations(browser)
        .filter((message) => message.name?.startsWith('shard-'))
        .map((message) => {
          expect(message.parentId).toBe(rootId);
          return message.sessionId;
        }),
    );
    const firstRegistration = registrations(browser).find((message) => message.name === first!.id);
    expect(shardIds.has(firstRegistration!.parentId!)).toBe(true);
    expect(firstRegistration!.definition).toContain('session.markGood');

    const firstId = inspectedIdOf(browser, first!.id);
    await browser.waitFor('the marks', () =>
      browser.messages.some(
        (message) => message.type === '@xstate.event' && message.event?.type === 'session.markBad',
      ),
    );
    const events = browser.messages.filter((message) => message.type === '@xstate.event');
    expect(
      events.some((message) => message.sessionId === firstId && message.event?.type === 'session.markGood'),
    ).toBe(true);
    const routed = events.find(
      (message) => message.sessionId === rootId && message.event?.type === 'pool.sendToSession',
    );
    expect(routed?.event).toMatchObject({ sessionId: second!.id, event: { type: 'session.markBad' } });
  });

  it('replays every live actor and its current state to a browser that connects late, but not retired ones', async () => {
    const running = await inspector();
    const early = await connectBrowser(running.wsUrl);
    const pool = await openPool({ inspect: running.inspect, maxPoolSize: 250, shardCapacity: 100 });
    const sessions = [];
    for (let index = 0; index < 250; index += 1) sessions.push(await pool.getSession());
    sessions[0]!.markGood();
    sessions[1]!.retire();
    await early.waitFor('start-up and the marks', () =>
      early.messages.some(
        (message) => message.type === '@xstate.snapshot' && message.snapshot?.status === 'done',
      ),
    );

    const late = await connectBrowser(running.wsUrl);
    await late.waitFor('the replay', () => registrations(late).length >= 253);
    const names = registrations(late).map((message) => message.name);
    expect(names).toHaveLength(253); // pool + 3 shards + 249 live sessions
    expect(names).not.toContain(sessions[1]!.id);
    expect(names).toContain(sessions[0]!.id);

    const markedId = inspectedIdOf(late, sessions[0]!.id);
    const latest = late.messages.filter(
      (message) => message.type === '@xstate.snapshot' && message.sessionId === markedId,
    );
    expect(latest.at(-1)?.snapshot).toMatchObject({ value: 'active', context: { usageCount: 1 } });
    // Registrations come before any snapshot, so the UI knows every actor a snapshot refers to.
    const firstSnapshot = late.messages.findIndex((message) => message.type !== '@xstate.actor');
    expect(late.messages.slice(firstSnapshot).some((message) => message.type === '@xstate.actor')).toBe(
      false,
    );
  });

  it('keeps messages small and free of secrets however large the pool and its userData are', async () => {
    const running = await inspector();
    const browser = await connectBrowser(running.wsUrl);
    const pool = await openPool({
      inspect: running.inspect,
      maxPoolSize: 300,
      shardCapacity: 300,
      sessionOptions: {
        userData: {
          proxyUrl: 'http://crawler:hunter2@proxy.example:8000',
          apiToken: 'tok-very-secret',
          visited: Array.from({ length: 5_000 }, (_, index) => `https://shop.example/item/${index}`),
        },
      },
    });
    for (let index = 0; index < 300; index += 1) await pool.getSession();
    await browser.waitFor('every registration', () => registrations(browser).length >= 302);

    const all = browser.raw.join('\n');
    expect(all).not.toContain('hunter2');
    expect(all).not.toContain('tok-very-secret');
    expect(all).toContain('http://***@proxy.example:8000');
    // The largest message is the session machine's definition plus one bounded snapshot, whatever the pool size.
    expect(Math.max(...browser.raw.map((message) => message.length))).toBeLessThan(8_000);

    const session = registrations(browser).find((message) => message.name?.startsWith('session_'));
    const userData = session?.snapshot?.context?.userData as { visited: string[]; apiToken: string };
    expect(userData.visited).toHaveLength(20);
    expect(userData.visited.at(-1)).toBe('… 4981 more');
    expect(userData.apiToken).toBe('[redacted]');

    const shardSnapshots = browser.messages.filter(
      (message) => message.type === '@xstate.snapshot' && Array.isArray(message.snapshot?.context?.slots),
    );
    expect(shardSnapshots.length).toBeGreaterThan(0);
    for (const message of shardSnapshots) {
      expect((message.snapshot!.context!.slots as unknown[]).length).toBeLessThanOrEqual(20);
      expect(Object.keys(message.snapshot?.children ?? {}).length).toBeLessThanOrEqual(30);
    }
  });

  it('leaves machine definitions out of registrations when asked', async () => {
    const running = await inspector({ includeDefinitions: false });
    const browser = await connectBrowser(running.wsUrl);
    await openPool({ inspect: running.inspect, maxPoolSize: 5 });
    await browser.waitFor('the pool registration', () => registrations(browser).length >= 1);
    expect(registrations(browser)[0]).not.toHaveProperty('definition');
  });

  it('resolves only once its socket is open, and a process that starts and closes it at once exits (finding 7)', async () => {
    const running = await startInspector();
    // The relay counts the inspector's socket as soon as the relay has accepted it; resolved means open.
    expect(running.server.clientCount).toBe(1);
    await running.close();
    const exit = await runScript(`
      import { SessionPool } from ${JSON.stringify(sourceUrl('src/index.ts'))};
      import { createSanitizedInspector, startInspector } from ${JSON.stringify(sourceUrl('src/inspect/index.ts'))};
      const inspector = await startInspector();
      const pool = await SessionPool.open({ maxPoolSize: 5, inspect: inspector.inspect });
      (await pool.getSession()).markGood();
      await pool.teardown();
      // Stopped while its socket is still connecting: no error, no reconnection.
      const early = createSanitizedInspector({ url: inspector.producerUrl });
      await early.stop();
      await inspector.close();
      // Never stopped, relay gone: reconnection attempts must not keep the process alive.
      createSanitizedInspector({ url: inspector.producerUrl });
      console.log('closed');
    `);
    expect(exit).toEqual({ code: 0, stdout: 'closed\n' });
  });

  it('closes idempotently: clients are disconnected, the port is released, later inspection is dropped', async () => {
    const running = await startInspector();
    await connectBrowser(running.wsUrl);
    expect(running.server.clientCount).toBe(2); // the inspector and the browser
    await Promise.all([running.close(), running.close()]);
    expect(running.server.clientCount).toBe(0);
    await expect(connectBrowser(running.wsUrl)).rejects.toThrow('WebSocket refused');
    expect(() => running.inspect.next?.({ type: '@xstate.event' } as never)).not.toThrow();
  });
});

describe('startInspectorServer', () => {
  let server: InspectorServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves a page that frames the inspector UI and connects back to the same host', async () => {
    server = await startInspectorServer({ inspectorUrl: 'https://inspector.example/ui' });
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const page = await response.text();
    expect(page).toContain('<iframe id="inspector" src="https://inspector.example/ui"');
    expect(page).toContain("new WebSocket('ws://' + location.host)");
  });

  it('relays what producers send to viewers, and refuses WebSocket connections from other web pages', async () => {
    server = await startInspectorServer();
    const ownPage = await connectBrowser(server.wsUrl, { origin: `http://127.0.0.1:${server.port}` });
    await expect(connectBrowser(server.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow(
      'WebSocket refused',
    );
    // Origin must be the page's own origin exactly, as the bridge page sends it.
    await expect(
      connectBrowser(server.wsUrl, { origin: `http://evil.example:${server.port}` }),
    ).rejects.toThrow('WebSocket refused');
    const sender = new WebSocket(server.producerUrl);
    await new Promise((resolve) => sender.addEventListener('open', resolve));
    cleanups.push(() => sender.close());
    sender.send(JSON.stringify({ type: '@xstate.event', sessionId: 'x:1', event: { type: 'ping' } }));
    await ownPage.waitFor('the relayed event', () => ownPage.messages.length === 1);
    expect(ownPage.messages[0]?.event?.type).toBe('ping');
  });

  it('relays nothing from clients without its token: no fake actors in the inspector (finding 6)', async () => {
    server = await startInspectorServer();
    const viewer = await connectBrowser(server.wsUrl);
    const intruder = new WebSocket(server.wsUrl);
    await new Promise((resolve) => intruder.addEventListener('open', resolve));
    cleanups.push(() => intruder.close());
    const forged = JSON.stringify({ type: '@xstate.actor', sessionId: 'fake:1', name: 'session_admin' });
    intruder.send(forged);
    const wrongToken = new WebSocket(`${server.wsUrl}/?token=${'0'.repeat(48)}`);
    await new Promise((resolve) => wrongToken.addEventListener('open', resolve));
    cleanups.push(() => wrongToken.close());
    wrongToken.send(forged);
    // Then a real message: once it has arrived, the forged ones (sent before it) would have too.
    const producer = new WebSocket(server.producerUrl);
    await new Promise((resolve) => producer.addEventListener('open', resolve));
    cleanups.push(() => producer.close());
    producer.send(JSON.stringify({ type: '@xstate.actor', sessionId: 'real:1', name: 'pool' }));
    await viewer.waitFor('the real registration', () => viewer.messages.length >= 1);
    expect(viewer.messages.map((message) => message.sessionId)).toEqual(['real:1']);
    const late = await connectBrowser(server.wsUrl);
    await late.waitFor('the replay', () => late.messages.length >= 1);
    expect(late.messages.map((message) => message.sessionId)).toEqual(['real:1']);
    expect(server.producerUrl).toMatch(/\?token=[0-9a-f]{48}$/);
  });

  it('answers only requests for this machine, like the dashboard (DNS rebinding, finding 6)', async () => {
    server = await startInspectorServer();
    const port = server.port;
    expect(await httpStatus(port, `127.0.0.1:${port}`)).toBe(200);
    expect(await httpStatus(port, `localhost:${port}`)).toBe(200);
    expect(await httpStatus(port, `rebound.evil.example:${port}`)).toBe(403);
    expect(await upgradeStatus(port, { host: `127.0.0.1:${port}` })).toBe(101);
    expect(await upgradeStatus(port, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).toBe(
      101,
    );
    expect(
      await upgradeStatus(port, {
        host: `rebound.evil.example:${port}`,
        origin: `http://rebound.evil.example:${port}`,
      }),
    ).toBe(403);
    expect(await upgradeStatus(port, { host: `127.0.0.1:${port}`, origin: 'null' })).toBe(403);
  });

  it('disconnects a client that sends a message over maxMessageBytes', async () => {
    server = await startInspectorServer({ maxMessageBytes: 64 * 1024 });
    const producer = new WebSocket(server.producerUrl);
    await new Promise((resolve) => producer.addEventListener('open', resolve));
    const closed = new Promise<number>((resolve) =>
      producer.addEventListener('close', (event) => resolve(event.code)),
    );
    producer.send(JSON.stringify({ type: '@xstate.event', sessionId: 'x', pad: 'x'.repeat(100 * 1024) }));
    expect(await closed).toBe(1009);
  });

  it('rejects bad options and a taken port with typed errors', async () => {
    await expect(startInspectorServer({ port: 70_000 })).rejects.toMatchObject({
      name: 'InvalidOptionError',
      field: 'port',
    });
    await expect(startInspectorServer({ inspectorUrl: 'not a url' })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    const error = await startInspectorServer({ port }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InspectorStartError);
    expect(error).toMatchObject({ code: 'ERR_INSPECTOR_START' });
    expect(() => createSanitizedInspector({ url: 'http://127.0.0.1:1' })).toThrow(InvalidOptionError);
    expect(() => createSanitizedInspector({ url: 'ws://127.0.0.1:1', maxArrayItems: 0 })).toThrow(
      expect.objectContaining({ field: 'maxArrayItems' }),
    );
  });

  it('buffers what happens before the socket opens (createSanitizedInspector with maxDeferredEvents)', async () => {
    server = await startInspectorServer();
    const browser = await connectBrowser(server.wsUrl);
    const early = createSanitizedInspector({ url: server.producerUrl });
    cleanups.push(() => early.stop());
    // Spawned before the inspector's socket can have opened; with the library's default (200) most are lost.
    const pool = await openPool({ inspect: early.inspect, maxPoolSize: 400, shardCapacity: 400 });
    for (let index = 0; index < 400; index += 1) await pool.getSession();
    await browser.waitFor('every registration', () => registrations(browser).length >= 402);
    expect(registrations(browser)).toHaveLength(402);
  });
});

describe('ReplayBuffer', () => {
  const actor = (id: string, padding = 0) =>
    JSON.stringify({ type: '@xstate.actor', sessionId: id, pad: 'x'.repeat(padding) });
  const event = (id: string, padding = 0) =>
    JSON.stringify({ type: '@xstate.event', sessionId: id, event: { type: 'e' }, pad: 'x'.repeat(padding) });

  it('keeps its byte budget: 40 registrations of 1 MB leave at most maxBytes, the newest actors kept', () => {
    const buffer = new ReplayBuffer({ maxActors: 100_000, maxEvents: 1_000, maxBytes: 4 * 1024 * 1024 });
    for (let index = 0; index < 40; index += 1) buffer.record(actor(`a${index}`, 1024 * 1024));
    expect(buffer.byteSize).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(buffer.actorCount).toBe(3);
    const ids = buffer.messages().map((message) => JSON.parse(message).sessionId);
    expect(ids).toEqual(['a37', 'a38', 'a39']);
    // A message larger than the whole budget is relayed but never kept.
    buffer.record(actor('huge', 5 * 1024 * 1024));
    expect(buffer.messages()).toHaveLength(3);
  });

  it('drops the oldest events before any actor, and counts bytes back when actors finish', () => {
    const buffer = new ReplayBuffer({ maxActors: 10, maxEvents: 1_000, maxBytes: 10_000 });
    buffer.record(actor('a'));
    for (let index = 0; index < 100; index += 1) buffer.record(event(`a`, 500));
    expect(buffer.byteSize).toBeLessThanOrEqual(10_000);
    expect(buffer.actorCount).toBe(1);
    buffer.record(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'a', snapshot: { status: 'done' } }));
    expect(buffer.actorCount).toBe(0);
    const eventsOnly = buffer.messages().reduce((sum, message) => sum + Buffer.byteLength(message), 0);
    expect(buffer.byteSize).toBe(eventsOnly);
  });
});

describe('sanitizeValue', () => {
  const messy = {
    list: Array.from({ length: 50 }, (_, index) => index),
    wide: Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`k${index}`, index])),
    deep: { a: { b: { c: { d: { e: 1 } } } } },
    long: 'x'.repeat(1_000),
    password: 'p4ss',
    when: new Date(0),
    proxy: 'socks5://user:pw@10.0.0.1:1080 and http://only-user@host/',
    email: 'mail me at someone@example.com',
  };

  it('bounds arrays, objects, depth and strings, saying how much was left out', () => {
    const clean = sanitizeValue(messy) as Record<string, unknown>;
    expect(clean.list).toHaveLength(20);
    expect((clean.list as unknown[]).at(-1)).toBe('… 31 more');
    expect(Object.keys(clean.wide as object)).toHaveLength(30);
    expect((clean.wide as Record<string, unknown>)['…']).toBe(11);
    expect(clean.deep).toEqual({ a: { b: { c: '[Object]' } } });
    expect((clean.long as string).length).toBe(256);
    expect(clean.password).toBe('[redacted]');
    expect(clean.when).toBe('1970-01-01T00:00:00.000Z');
    expect(clean.proxy).toBe('socks5://***@10.0.0.1:1080 and http://***@host/');
    expect(clean.email).toBe('mail me at someone@example.com');
  });

  it('is idempotent (the inspector serializes buffered events twice) and survives cycles', () => {
    const once = sanitizeValue(messy);
    expect(sanitizeValue(once)).toEqual(once);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(sanitizeValue(cyclic)).toEqual({ name: 'loop', self: '[Circular]' });
    expect(redactCredentials('https://a:b@x.example/p?q=1')).toBe('https://***@x.example/p?q=1');
  });
});
