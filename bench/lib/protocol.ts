/**
 * What a benchmark part reports to the runner: rows of samples, one sample per contender per round. Rates and
 * durations carry both a wall-clock value and a CPU-time value: the machine is shared, and CPU time is what a
 * busy neighbour disturbs least.
 */
import type { ContenderName } from './contenders.js';

/**
 * A column of the table: the three pools, and for outcome rows the XState floor (one raw `send` of
 * `session.markGood` to an actor of our own `sessionMachine`, no pool around it).
 */
export type Column = ContenderName | 'xstate';

export interface Sample {
  /** The value in the row's unit, from wall-clock time (or bytes, for heap rows). */
  wall: number;
  /** The value in the row's unit, from this process's CPU time (user + system); equals `wall` for heap rows. */
  cpu: number;
}

export interface Row {
  /** Stable id, e.g. `outcomes.good@10000`; targets refer to rows by id. */
  id: string;
  label: string;
  unit: string;
  /** Whether a larger value is better (rates) or worse (durations, bytes). */
  better: 'higher' | 'lower';
  samples: Partial<Record<Column, Sample[]>>;
  /** Shown under the table, e.g. why a contender has no value. */
  note?: string;
  /** A longer text printed after the targets (e.g. a CPU profile summary). */
  details?: string;
}

/** Options every part receives from the runner. */
export interface PartOptions {
  quick: boolean;
  /** Extra `--key=value` arguments, part-specific (e.g. `size`, `contender`). */
  args: Record<string, string>;
}

export type Part = (options: PartOptions) => Promise<Row[]>;

/** Adds a sample to a row, creating the contender's list on first use. */
export function addSample(row: Row, contender: Column, sample: Sample): void {
  const list = row.samples[contender] ?? [];
  list.push(sample);
  row.samples[contender] = list;
}

export function newRow(id: string, label: string, unit: string, better: Row['better'], note?: string): Row {
  return note === undefined
    ? { id, label, unit, better, samples: {} }
    : { id, label, unit, better, samples: {}, note };
}
