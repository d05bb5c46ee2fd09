import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionPool } from '../../src/index.js';
import { exited, readLines, runFixture } from './fixtures/child.js';
import { Resources } from './helpers.js';

const resources = new Resources();
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
  await resources.close();
});

/** Sets one new cookie per request: `v<n>=<n>`, n from the query string. */
async function cookieServer(): Promise<number> {
  server = createServer((request, response) => {
    const n = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('n') ?? 'x';
    response.writeHead(200, { 'set-cookie': `v${n}=${n}; Path=/`, 'content-type': 'text/plain' });
    response.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('crash safety', () => {
  it('restores every session and cookie acknowledged before a SIGKILL mid-crawl', async () => {
    const port = await cookieServer();
    const dir = await resources.dir();
    const child = runFixture('./crawl-child.ts', [join(dir, 'CRASH.json'), String(port)]);
    const created = new Set<string>();
    const acks: Array<{ sessionId: string; cookie: string; value: string; usage: number }> = [];
    try {
      await readLines(child, (line) => {
        const [kind, id, cookie, usage] = line.split(' ');
        if (kind === 'created' && id) created.add(id);
        if (kind === 'ack' && id && cookie && usage) {
          const [name, value] = cookie.split('=') as [string, string];
          acks.push({ sessionId: id, cookie: name, value, usage: Number(usage) });
        }
        return acks.length >= 150 || kind === 'done';
      });
      child.kill('SIGKILL');
      await exited(child);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    expect(child.signalCode).toBe('SIGKILL');
    expect(acks.length).toBeGreaterThanOrEqual(150);

    // A new process (here: the test's) restores from the file; the dead child's lock is stale and taken over.
    const pool = resources.track(
      new SessionPool({ store: 'file', persistStateDir: dir, persistStateKey: 'CRASH' }),
    );
    await pool.initialize();
    const restoredIds = new Set([...pool.sessions()].map((session) => session.id));
    for (const id of created) expect(restoredIds).toContain(id);

    let cookiesFound = 0;
    const url = `http://127.0.0.1:${port}/page`;
    for (const ack of acks) {
      const session = await pool.getSession(ack.sessionId);
      expect(session, `session ${ack.sessionId}`).toBeDefined();
      expect(session!.usageCount).toBeGreaterThanOrEqual(ack.usage);
      const cookie = session!.getCookies(url).find((c) => c.name === ack.cookie);
      expect(cookie?.value, `cookie ${ack.cookie} of ${ack.sessionId}`).toBe(ack.value);
      cookiesFound += 1;
    }
    expect(cookiesFound).toBe(acks.length);
    expect(created.size).toBeGreaterThan(0);
    expect(new Set(acks.map((ack) => ack.sessionId)).size).toBeLessThanOrEqual(restoredIds.size);
  });
});
