/** The targets, as checks over the medians of a run. Reported, never asserted. */
import type { Column } from './protocol.js';

export type Medians = Map<string, Partial<Record<Column, { wall: number; cpu: number }>>>;

export interface Target {
  text: string;
  /** Returns the measured value as text and whether the target is met, or undefined if not measured. */
  check(medians: Medians): { value: string; met: boolean } | undefined;
}

type Basis = 'wall' | 'cpu';

function ratio(medians: Medians, id: string, against: Column, basis: Basis, better: 'higher' | 'lower') {
  const row = medians.get(id);
  const ours = row?.ours?.[basis];
  const other = row?.[against]?.[basis];
  if (ours === undefined || other === undefined || !(ours > 0) || !(other > 0)) return undefined;
  return better === 'higher' ? ours / other : other / ours;
}

function atLeast(id: string, against: Column, min: number, basis: Basis, text: string): Target {
  return {
    text,
    check: (medians) => {
      const value = ratio(medians, id, against, basis, 'higher');
      return value === undefined ? undefined : { value: `${value.toFixed(2)} (${basis})`, met: value >= min };
    },
  };
}

function absolute(
  id: string,
  basis: Basis,
  unit: string,
  ok: (value: number) => boolean,
  text: string,
): Target {
  return {
    text,
    check: (medians) => {
      const value = medians.get(id)?.ours?.[basis];
      if (value === undefined) return undefined;
      return { value: `${Math.round(value).toLocaleString('en')} ${unit} (${basis})`, met: ok(value) };
    },
  };
}

/** The floor's CPU per request over ours: at least 1/1.15 means ours takes at most 1.15x the floor's. */
function cpuPerRequestWithin(factor: number): Target {
  return {
    text: `client CPU per request <= ${factor}x the floor's (crawl)`,
    check: (medians) => {
      const row = medians.get('crawl.cpu');
      const ours = row?.ours?.cpu;
      const floor = row?.floor?.cpu;
      if (ours === undefined || floor === undefined || !(floor > 0)) return undefined;
      return { value: `${(ours / floor).toFixed(2)}x (cpu)`, met: ours / floor <= factor };
    },
  };
}

export const TARGETS: readonly Target[] = [
  atLeast('crawl.rps', 'floor', 0.95, 'wall', 'end-to-end crawl >= 0.95 of the floor (req/s)'),
  atLeast('crawl.rps', 'crawlee', 1.0, 'wall', "end-to-end crawl >= 1.0 of Crawlee's pool (req/s)"),
  atLeast('crawl.rps', 'crawlee', 1.05, 'wall', "end-to-end crawl >= 1.05 of Crawlee's pool (req/s)"),
  cpuPerRequestWithin(1.15),
  atLeast(
    'crawl.rps.churn',
    'crawlee',
    1.0,
    'wall',
    "churn crawl (50 in flight, maxUsageCount 7) >= 1.0 of Crawlee's pool (req/s)",
  ),
  absolute(
    'crawl.churn.maxUses',
    'wall',
    'requests',
    (most) => most <= 7,
    'churn crawl: no session serves more than maxUsageCount (7) requests',
  ),
  atLeast('outcomes.good@1000', 'crawlee', 0.5, 'cpu', "outcomes >= 0.5 of Crawlee's at 1,000 sessions"),
  atLeast('outcomes.good@10000', 'crawlee', 0.5, 'cpu', "outcomes >= 0.5 of Crawlee's at 10,000 sessions"),
  atLeast(
    'outcomes.good@1000',
    'xstate',
    0.8,
    'cpu',
    'getSession + markGood >= 0.8 of the XState floor at 1,000 sessions',
  ),
  {
    text: 'outcomes: no worse than 2x slowdown from 1,000 to 100,000 sessions',
    check: (medians) => {
      const small = medians.get('outcomes.good@1000')?.ours?.cpu;
      const large = medians.get('outcomes.good@100000')?.ours?.cpu;
      if (small === undefined || large === undefined) return undefined;
      return { value: `${(small / large).toFixed(2)}x slower (cpu)`, met: small / large <= 2 };
    },
  },
  absolute(
    'scale.create@100000',
    'wall',
    'ms',
    (ms) => ms < 3000,
    '100,000 sessions created in under 3 s (one getSession() at a time)',
  ),
  absolute(
    'scale.prewarm@100000',
    'wall',
    'ms',
    (ms) => ms < 3000,
    '100,000 sessions created in under 3 s (pre-warmed with addSessions)',
  ),
  absolute(
    'scale.churn@100000',
    'wall',
    '/s',
    (rate) => rate >= 5000,
    'churn >= 5,000/s at 100,000 sessions',
  ),
  absolute(
    'scale.teardown@100000',
    'wall',
    'ms',
    (ms) => ms < 2000,
    'teardown of 100,000 sessions in under 2 s',
  ),
  absolute(
    'heap.empty',
    'wall',
    'B',
    (bytes) => bytes <= 3072,
    'at most 3 KiB of heap per idle session (empty jar)',
  ),
  {
    text: 'fleet of 1 worker >= 0.8 of one in-memory pool (req/s)',
    check: (medians) => {
      const ratio = medians.get('fleet.ratio@1')?.ours?.wall;
      return ratio === undefined ? undefined : { value: `${ratio.toFixed(2)} (wall)`, met: ratio >= 0.8 };
    },
  },
  {
    text: 'fleet: Redis commands per request flat (within 20%) from 1 to 4 workers',
    check: (medians) => {
      const one = medians.get('fleet.commands@1')?.ours?.wall;
      const four = medians.get('fleet.commands@4')?.ours?.wall;
      if (one === undefined || four === undefined || !(one > 0)) return undefined;
      return { value: `${one.toFixed(1)} -> ${four.toFixed(1)}`, met: four <= one * 1.2 };
    },
  },
  neverLowers('fleet.rps', "fleet: adding a worker never lowers the fleet's req/s (1 -> 2 -> 4)"),
  neverLowers(
    'fleet.latency.rps',
    "fleet, site answering in 20 ms: adding a worker never lowers the fleet's req/s (1 -> 2 -> 4)",
  ),
];

/** A goal that the medians of `${row}@1`, `@2` and `@4` never fall as workers are added. */
function neverLowers(row: string, text: string): Target {
  return {
    text,
    check: (medians) => {
      const rates = [1, 2, 4].map((workers) => medians.get(`${row}@${workers}`)?.ours?.wall);
      if (rates.some((rate) => rate === undefined)) return undefined;
      const [one, two, four] = rates as [number, number, number];
      return {
        value: rates.map((rate) => Math.round(rate as number).toLocaleString('en')).join(' -> '),
        met: two >= one && four >= two,
      };
    },
  };
}
