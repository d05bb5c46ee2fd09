/**
 * The fleet protocol against a model, on a real redis-server: random sequences of grants (any session, with
 * exclusions, or pinned; reserving one use or several) and releases (every outcome, one per use made, some
 * retiring, some with cookies) from three workers. After every step Redis must agree with the model: uses counted,
 * uses reserved and leases in flight per session, retirements, the live count, and the set of available sessions;
 * a grant is refused only when the model has nothing to give, and reserves what the model says is left.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetClient, type FleetGrant } from '../../src/redis/fleet/client.js';
import { fuzzParameters, fuzzTimeout } from '../fuzz/fuzz-config.js';
import { plainClient } from './helpers.js';
import { RedisServer, redisMissing } from './redis-server.js';

const missing = redisMissing();
const MAX_POOL = 4;
const MAX_USAGE = 5;
const MAX_CONCURRENCY = 2;
const RUNS = 40;

type Outcome = 'good' | 'bad' | 'aborted' | 'unused';
type Step =
  | { kind: 'acquire'; worker: number; exclude: number; pinned: number | null; uses: number }
  | { kind: 'release'; pick: number; outcomes: Outcome[]; retire: boolean; cookie: boolean };

const outcome = fc.constantFrom<Outcome>('good', 'bad', 'aborted', 'unused');

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('acquire' as const),
    worker: fc.nat(2),
    exclude: fc.nat(2),
    pinned: fc.option(fc.nat(7), { freq: 4 }),
    uses: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('release' as const),
    pick: fc.nat(20),
    outcomes: fc.array(outcome, { minLength: 1, maxLength: 3 }),
    retire: fc.nat(4).map((value) => value === 0),
    cookie: fc.boolean(),
  }),
);

interface ModelSession {
  u: number;
  f: number;
  /** Uses reserved by the leases in flight. */
  q: number;
  retired: boolean;
}

describe.skipIf(missing)('fleet protocol against a model (real redis-server)', () => {
  let server: RedisServer | undefined;
  let plain: Redis | undefined;
  let run = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
    plain = plainClient(server.url);
  });
  afterAll(async () => {
    plain?.disconnect();
    await server?.close();
  });

  it(
    'Redis agrees with the model after every grant and release',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 80 }), async (steps) => {
          run += 1;
          const prefix = `model${run}:`;
          const tag = `{model${run}}`;
          const workers = [0, 1, 2].map(
            () =>
              new FleetClient({
                redisUrl: server?.url,
                keyPrefix: prefix,
                leaseTtlMs: 600_000,
                commandTimeoutMs: 5000,
                connectTimeoutMs: 5000,
              }),
          );
          for (const worker of workers) {
            worker.maxPoolSize = MAX_POOL;
            await worker.open();
          }
          const model = new Map<string, ModelSession>();
          const order: string[] = [];
          const held: { worker: FleetClient; grant: FleetGrant; uses: number }[] = [];
          let created = 0;
          const grantable = (id: string) => {
            const s = model.get(id);
            return s !== undefined && !s.retired && s.u + s.q < MAX_USAGE && s.f < MAX_CONCURRENCY;
          };
          try {
            for (const current of steps) {
              if (current.kind === 'acquire') {
                const worker = workers[current.worker] as FleetClient;
                const exclude = new Set(
                  order.filter((id) => !model.get(id)?.retired).slice(0, current.exclude),
                );
                const pinned =
                  current.pinned === null ? undefined : order[current.pinned % Math.max(1, order.length)];
                const reply = await worker.acquire({
                  sessionId: pinned,
                  exclude,
                  uses: current.uses,
                  newSession: () => {
                    created += 1;
                    return {
                      id: `${prefix}s${created}`,
                      record: '{}',
                      maxUsageCount: MAX_USAGE,
                      maxErrorScore: 1000,
                      expiresAt: Date.now() + 3_600_000,
                      blockedUntil: 0,
                      maxConcurrency: MAX_CONCURRENCY,
                      minDelayMs: 0,
                      errorScoreDecrement: 0.5,
                    };
                  },
                });
                const live = [...model.entries()].filter(([, s]) => !s.retired).map(([id]) => id);
                if ('token' in reply) {
                  let s = model.get(reply.sessionId);
                  if (!s) {
                    expect(pinned).toBeUndefined();
                    expect(live.some(grantable), 'created while an existing session could serve').toBe(false);
                    expect(live.length).toBeLessThan(MAX_POOL);
                    s = { u: 0, f: 0, q: 0, retired: false };
                    model.set(reply.sessionId, s);
                    order.push(reply.sessionId);
                  } else {
                    expect(grantable(reply.sessionId), `${reply.sessionId} was not grantable`).toBe(true);
                    if (pinned !== undefined) expect(reply.sessionId).toBe(pinned);
                    else if (exclude.has(reply.sessionId)) {
                      expect(live.filter((id) => !exclude.has(id)).some(grantable)).toBe(false);
                    }
                  }
                  const reserved = Math.min(current.uses, MAX_USAGE - s.u - s.q);
                  expect(reply.uses).toBe(reserved);
                  s.f += 1;
                  s.q += reserved;
                  held.push({ worker, grant: reply, uses: reserved });
                } else if (pinned !== undefined) {
                  const s = model.get(pinned);
                  if (reply.kind === 'gone') expect(s?.retired).toBe(true);
                  else expect(grantable(pinned)).toBe(false);
                } else {
                  expect(reply.kind).toBe('timeout');
                  expect(live.some(grantable), 'refused while a session could serve').toBe(false);
                  expect(live.length).toBe(MAX_POOL);
                }
              } else {
                if (held.length === 0) continue;
                const [entry] = held.splice(current.pick % held.length, 1);
                if (!entry) continue;
                // A use per outcome, at most the uses the grant reserved; a single one is sent as it is.
                const outcomes = current.outcomes.slice(0, entry.uses);
                const result = await entry.worker.release(entry.grant, {
                  outcome: outcomes.length === 1 ? (outcomes[0] as Outcome) : outcomes,
                  retireReason: current.retire ? 'manual' : undefined,
                  cookieSets: current.cookie ? [['h;/;c', `{"n":${current.pick}}`]] : [],
                });
                expect(result.status).toBe('ok');
                const s = model.get(entry.grant.sessionId) as ModelSession;
                s.f -= 1;
                s.q -= entry.uses;
                s.u += outcomes.filter((each) => each !== 'unused').length;
                if (!s.retired && (current.retire || s.u >= MAX_USAGE)) s.retired = true;
              }
              // Redis agrees with the model.
              const states = (await plain?.hgetall(`${tag}:st`)) ?? {};
              const avail = new Set((await plain?.zrange(`${tag}:avail`, 0, -1)) ?? []);
              for (const [id, s] of model) {
                const state = JSON.parse(states[id] ?? '{}') as {
                  u: number;
                  f: number;
                  q: number;
                  r: string;
                };
                expect(state.u, id).toBe(s.u);
                expect(state.f, id).toBe(s.f);
                expect(state.q, id).toBe(s.q);
                expect(state.r !== '', id).toBe(s.retired);
                expect(state.u + state.q).toBeLessThanOrEqual(MAX_USAGE);
                expect(state.f).toBeLessThanOrEqual(MAX_CONCURRENCY);
                expect(avail.has(id), `${id} in avail`).toBe(grantable(id));
              }
              const meta = (await plain?.hgetall(`${tag}:meta`)) ?? {};
              expect(Number(meta.live)).toBe([...model.values()].filter((s) => !s.retired).length);
              expect(Number(meta.live)).toBeLessThanOrEqual(MAX_POOL);
              expect(await plain?.zcard(`${tag}:leases`)).toBe(held.length);
            }
          } finally {
            await Promise.all(workers.map((worker) => worker.close()));
          }
        }),
        fuzzParameters(RUNS),
      );
    },
    fuzzTimeout(RUNS, 2000),
  );
});
