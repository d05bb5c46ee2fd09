import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Resources, simulatedClock } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.close());

const PROXIES = [
  'http://alice:s3cret@127.0.0.1:9001',
  'http://bob:hunter2@127.0.0.1:9002',
  'socks5://127.0.0.1:9003',
];
const PROFILES = [{ userAgent: 'UA-one' }, { userAgent: 'UA-two' }, { userAgent: 'UA-three' }];

describe('proxy and header-profile bindings across a restart', () => {
  it('gives every restored session its own proxy and profile back, even with the proxy list reordered', async () => {
    const dir = await resources.dir();
    const clock = simulatedClock();
    const options = {
      store: 'file' as const,
      persistStateDir: dir,
      clock,
      maxPoolSize: 3,
      headerProfiles: PROFILES,
    };
    const first = await resources.pool({ ...options, proxyUrls: PROXIES });
    const before = new Map<string, [string | null, string | undefined]>();
    for (let n = 0; n < 3; n += 1) {
      const session = await first.getSession();
      before.set(session.id, [session.proxyUrl, session.headerProfile?.userAgent]);
    }
    expect(new Set([...before.values()].map(([proxy]) => proxy)).size).toBe(3);
    await first.teardown();

    const saved = await readFile(join(dir, 'SESSION_POOL_STATE.json'), 'utf8');
    expect(saved).not.toContain('s3cret');
    expect(saved).not.toContain('hunter2');

    const second = await resources.pool({ ...options, proxyUrls: [...PROXIES].reverse() });
    const after = new Map<string, [string | null, string | undefined]>();
    for (const session of second.sessions())
      after.set(session.id, [session.proxyUrl, session.headerProfile?.userAgent]);
    expect(after).toEqual(before);
  });

  it('binds a restored session anew when its proxy is no longer configured', async () => {
    const dir = await resources.dir();
    const clock = simulatedClock();
    const options = { store: 'file' as const, persistStateDir: dir, clock, maxPoolSize: 1 };
    const first = await resources.pool({ ...options, proxyUrls: [PROXIES[0] as string] });
    const { id } = await first.getSession();
    await first.teardown();

    const second = await resources.pool({ ...options, proxyUrls: [PROXIES[2] as string] });
    const restored = await second.getSession(id);
    expect(restored?.proxyUrl).toBe('socks5://127.0.0.1:9003');
    expect(restored?.actor.getSnapshot().context.bindings?.proxy).toBe('socks5://127.0.0.1:9003');
  });
});
