/** Helpers for the dashboard tests: a minimal server-sent events reader over node:http. */
import { get, type IncomingMessage } from 'node:http';
import type { PoolStats } from '../src/pool-stats.js';

export interface SseEvent {
  event: string;
  data: unknown;
}

export interface SseReader {
  /** Resolves with the next event that passes `accept` (events before it are consumed). */
  next(accept?: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  response: IncomingMessage;
  close(): void;
}

export function openSse(url: string): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      response.setEncoding('utf8');
      const queue: SseEvent[] = [];
      let waiter: (() => void) | undefined;
      let buffer = '';
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) queue.push({ event, data: JSON.parse(data) });
        }
        waiter?.();
      });
      response.on('error', () => {});
      resolve({
        response,
        async next(accept = () => true, timeoutMs = 5_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            while (queue.length > 0) {
              const event = queue.shift()!;
              if (accept(event)) return event;
            }
            if (Date.now() > deadline) throw new Error('no matching server-sent event in time');
            await new Promise<void>((wake) => {
              waiter = wake;
              setTimeout(wake, 100);
            });
          }
        },
        close() {
          request.destroy();
        },
      });
    });
    request.on('error', reject);
  });
}

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Payload of a `delta` event. */
export interface DeltaData {
  tiles: number[];
  ids: Record<string, string>;
  counts: Record<string, number>;
  retiredNow: Record<string, number>;
  stats?: PoolStats;
}
export interface SnapshotData {
  states: string[];
  ids: string[];
  codes: number[];
  counts: Record<string, number>;
  stats: PoolStats;
}

/** The page's test hooks (`window.dashboard`). */
export interface DashboardHooks {
  tileCount(): number;
  states(): string[];
  stateOf(slot: number): string;
  idOf(slot: number): string;
  selected(): number;
  deltaCount(): number;
  slotCenter(slot: number): { x: number; y: number };
}
