import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { exportCrawleeState } from '../../src/stores/crawlee-export.js';
import { crawlee, freshConfig } from './crawlee-env.js';
import { useIntegrationCleanup } from './helpers.js';

const { KeyValueStore, SessionPool: CrawleeSessionPool } = crawlee;
const { pool } = useIntegrationCleanup();

const KEY = 'SDK_SESSION_POOL_STATE';

/** The fields both libraries keep, for comparing a session across them. */
function comparable(state: {
  id: string;
  errorScore: number;
  maxErrorScore: number;
  errorScoreDecrement: number;
  usageCount: number;
  maxUsageCount: number;
  expiresAt: string | Date;
  createdAt: string | Date;
  userData: object;
}) {
  return {
    id: state.id,
    errorScore: state.errorScore,
    maxErrorScore: state.maxErrorScore,
    errorScoreDecrement: state.errorScoreDecrement,
    usageCount: state.usageCount,
    maxUsageCount: state.maxUsageCount,
    expiresAt: new Date(state.expiresAt).toISOString(),
    createdAt: new Date(state.createdAt).toISOString(),
    userData: state.userData,
  };
}

function cookiesOf(jar: { cookies?: unknown[] } | undefined) {
  return (jar?.cookies ?? [])
    .map((raw) => {
      const cookie = raw as { key: string; value: string; domain: string; path: string; expires?: string };
      return {
        key: cookie.key,
        value: cookie.value,
        domain: cookie.domain,
        path: cookie.path,
        expires: cookie.expires,
      };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

describe('exportCrawleeState', () => {
  it('writes a document Crawlee’s own SessionPool restores: ids, counts, scores, dates, userData, cookies', async () => {
    const ours = await pool({ maxPoolSize: 3, sessionOptions: { maxUsageCount: 20, maxErrorScore: 4 } });
    const [a, b, c] = [await ours.addSession(), await ours.addSession(), await ours.addSession()];
    a.markGood();
    a.markGood();
    b.markBad();
    b.markBad();
    b.markGood();
    c.userData.label = 'checkout';
    a.setCookie('sid=abc; Path=/; HttpOnly', 'https://shop.example.com/');
    a.setCookie('deep=1; Path=/cart', 'https://shop.example.com/cart');
    c.setCookie('pref=dark; Domain=example.com; Max-Age=3600', 'https://www.example.com/');

    const document = exportCrawleeState(ours.getState());
    expect(document.sessions).toHaveLength(3);
    const config = freshConfig();
    const store = await KeyValueStore.open('exported', { config });
    await store.setValue(KEY, document);
    const restored = await CrawleeSessionPool.open(
      { persistStateKeyValueStoreId: store.id, persistStateKey: KEY },
      config,
    );
    try {
      const back = restored.getState().sessions;
      expect(back.map(comparable)).toEqual(ours.getState().sessions.map(comparable));
      const crawleeA = await restored.getSession(a.id);
      expect(crawleeA?.getCookieString('https://shop.example.com/cart/1')).toBe(
        a.getCookieString('https://shop.example.com/cart/1'),
      );
      const crawleeC = await restored.getSession(c.id);
      expect(crawleeC?.getCookieString('https://api.example.com/')).toBe('pref=dark');
      expect(crawleeC?.userData).toEqual({ label: 'checkout' });
      for (const session of back) {
        const mine = ours.getState().sessions.find((state) => state.id === session.id);
        expect(cookiesOf(session.cookieJar)).toEqual(cookiesOf(mine?.cookieJar));
      }
    } finally {
      await restored.teardown({ persistState: false });
    }
  });

  it('Crawlee state → importCrawleeState → exportCrawleeState keeps every field', async () => {
    const config = freshConfig();
    const crawleePool = await CrawleeSessionPool.open(
      { maxPoolSize: 3, persistenceOptions: { enable: false }, sessionOptions: { maxUsageCount: 30 } },
      config,
    );
    const sessions = [
      await crawleePool.getSession(),
      await crawleePool.getSession(),
      await crawleePool.getSession(),
    ];
    sessions[0]?.markGood();
    sessions[1]?.markBad();
    sessions[1]?.markGood();
    if (sessions[2]) sessions[2].userData.token = 't-1';
    sessions[0]?.setCookie('a=1; Path=/', 'https://example.com/');
    sessions[2]?.setCookie('b=2; Path=/x; Secure', 'https://example.com/x');
    const crawleeState = JSON.parse(JSON.stringify(crawleePool.getState())) as {
      sessions: (Parameters<typeof comparable>[0] & { cookieJar: { cookies?: unknown[] } })[];
    };
    await crawleePool.teardown({ persistState: false });

    const ours = await pool({ maxPoolSize: 3 });
    const result = await ours.importCrawleeState(JSON.stringify(crawleeState));
    expect(result.imported).toHaveLength(3);
    const exported = exportCrawleeState(ours.getState());
    const byId = <T extends { id: string }>(list: T[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
    expect(byId(exported.sessions).map(comparable)).toEqual(byId(crawleeState.sessions).map(comparable));
    for (const session of exported.sessions) {
      const original = crawleeState.sessions.find((state) => state.id === session.id);
      expect(cookiesOf(session.cookieJar)).toEqual(cookiesOf(original?.cookieJar));
    }
    expect(Object.keys(exported.sessions[0] ?? {}).sort()).toEqual(
      Object.keys(crawleeState.sessions[0] ?? {}).sort(),
    );
  });

  it('pool.exportCrawleeState() is the same document, and Crawlee restores it through a key-value store', async () => {
    const ours = await pool({ maxPoolSize: 2 });
    const session = await ours.addSession();
    session.markGood();
    session.setCookie('sid=abc; Path=/', 'https://shop.example.com/');
    const document = ours.exportCrawleeState();
    expect(document).toEqual(exportCrawleeState(ours.getState()));
    const config = freshConfig();
    const store = await KeyValueStore.open('via-method', { config });
    await store.setValue(KEY, document);
    const restored = await CrawleeSessionPool.open({ persistStateKeyValueStoreId: store.id }, config);
    try {
      const back = await restored.getSession(session.id);
      expect(back?.usageCount).toBe(1);
      expect(back?.getCookieString('https://shop.example.com/')).toBe('sid=abc');
    } finally {
      await restored.teardown({ persistState: false });
    }
  });

  it('leaves cooling-down sessions out on request, and rejects what is not a pool state', async () => {
    const ours = await pool({ maxPoolSize: 2 });
    const [a, b] = [await ours.addSession(), await ours.addSession()];
    b.coolDown(Date.now() + 60_000);
    expect(
      exportCrawleeState(ours.getState())
        .sessions.map((s) => s.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    expect(
      exportCrawleeState(ours.getState(), { includeCoolingDown: false }).sessions.map((s) => s.id),
    ).toEqual([a.id]);
    expect(() => exportCrawleeState({} as never)).toThrow(InvalidOptionError);
    expect(() => exportCrawleeState([null] as never)).toThrow(/sessions\[0\]/);
  });
});
