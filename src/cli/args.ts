/**
 * Command-line parsing of the `session-supervisor` CLI, on `node:util`'s `parseArgs`: strict, so a typo is a usage
 * error and never ignored.
 */
import { type ParseArgsConfig, parseArgs as parseArgsFromNode } from 'node:util';

export const USAGE = `Usage: session-supervisor <command> [options]

Commands:
  demo                 Crawl the bundled test site through a session pool and print a summary
  help                 Show this help

Options of demo:
  --pages N            Pages to crawl (default 1500, at most 1000000)
  --sessions N         Most sessions alive at once, the pool's maxPoolSize (default 40)
  --seed S             Seed of the test site, so a run is reproducible (default 1)
  --concurrency N      Requests in flight (default 16)
  --delay MS           Pause of each worker between requests, to watch a crawl at leisure (default 0)
  --dashboard          Serve the live dashboard on 127.0.0.1 and print its URL
  --dashboard-port N   Port of the dashboard (default: a free one; a busy port falls back to a free one)
  --hold               With --dashboard: keep serving after the crawl until Ctrl-C
  --inspect            Send the pool's actors and events to the XState inspector (@statelyai/inspect)
  --state-dir DIR      Where the pool's state is persisted (default .session-supervisor/demo)
  --fresh              Start with an empty pool instead of the state saved by the last run
  --json               Print the summary as JSON instead of a table
  -h, --help           Show this help
  -v, --version        Print the version

Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted (Ctrl-C; the pool's state is saved).`;

/** Bad command line: the CLI prints the message and the usage, and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface DemoArgs {
  pages: number;
  sessions: number;
  seed: number;
  concurrency: number;
  delayMs: number;
  dashboard: boolean;
  dashboardPort: number;
  hold: boolean;
  inspect: boolean;
  stateDir: string;
  fresh: boolean;
  json: boolean;
}

export type Command = { name: 'help' } | { name: 'version' } | { name: 'demo'; args: DemoArgs };

export const DEMO_DEFAULTS: Readonly<DemoArgs> = Object.freeze({
  pages: 1500,
  sessions: 40,
  seed: 1,
  concurrency: 16,
  delayMs: 0,
  dashboard: false,
  dashboardPort: 0,
  hold: false,
  inspect: false,
  stateDir: '.session-supervisor/demo',
  fresh: false,
  json: false,
});

interface IntegerFlag {
  key: 'pages' | 'sessions' | 'seed' | 'concurrency' | 'delayMs' | 'dashboardPort';
  min: number;
  max: number;
}

type BooleanKey = 'dashboard' | 'hold' | 'inspect' | 'fresh' | 'json';

/** Keyed by the long option's name, as `node:util`'s `parseArgs` reports it. */
const INTEGER_FLAGS: Readonly<Record<string, IntegerFlag>> = {
  pages: { key: 'pages', min: 1, max: 1_000_000 },
  sessions: { key: 'sessions', min: 1, max: 100_000 },
  seed: { key: 'seed', min: 0, max: 0xffffffff },
  concurrency: { key: 'concurrency', min: 1, max: 1024 },
  delay: { key: 'delayMs', min: 0, max: 60_000 },
  'dashboard-port': { key: 'dashboardPort', min: 0, max: 65_535 },
};

const BOOLEAN_FLAGS: Readonly<Record<string, BooleanKey>> = {
  dashboard: 'dashboard',
  hold: 'hold',
  inspect: 'inspect',
  fresh: 'fresh',
  json: 'json',
};

const DEMO_OPTIONS: ParseArgsConfig['options'] = {
  ...Object.fromEntries(Object.keys(INTEGER_FLAGS).map((name) => [name, { type: 'string' as const }])),
  ...Object.fromEntries(Object.keys(BOOLEAN_FLAGS).map((name) => [name, { type: 'boolean' as const }])),
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

function parseInteger(flag: string, raw: string, rule: IntegerFlag): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} expects a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < rule.min || value > rule.max) {
    throw new UsageError(`${flag} must be between ${rule.min} and ${rule.max}, got ${raw}`);
  }
  return value;
}

/** Parses `argv` (without node and the script). Throws `UsageError` on anything it does not understand. */
export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    return { name: 'help' };
  }
  if (command === '--version' || command === '-v') return { name: 'version' };
  if (command !== 'demo') throw new UsageError(`unknown command "${command}"`);

  // Not strict: node's own messages would not say which flag wants what, and a repeated flag would silently
  // win; the tokens let every check below name the flag as the user typed it.
  const { tokens } = parseArgsFromNode({
    args: [...rest],
    options: DEMO_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const args: DemoArgs = { ...DEMO_DEFAULTS };
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind === 'positional') throw new UsageError(`unexpected argument "${token.value}"`);
    if (token.kind === 'option-terminator') throw new UsageError('unexpected argument "--"');
    if (token.name === 'help') return { name: 'help' };
    const flag = token.rawName;
    if (seen.has(flag)) throw new UsageError(`${flag} given twice`);
    seen.add(flag);
    const integer = flag.startsWith('--') ? INTEGER_FLAGS[token.name] : undefined;
    if (integer) {
      if (token.value === undefined || token.value === '') throw new UsageError(`${flag} needs a value`);
      args[integer.key] = parseInteger(flag, token.value, integer);
      continue;
    }
    if (flag === '--state-dir') {
      const raw = token.value;
      if (raw === undefined || raw === '' || raw.startsWith('--'))
        throw new UsageError('--state-dir needs a path');
      args.stateDir = raw;
      continue;
    }
    const boolean = flag.startsWith('--') ? BOOLEAN_FLAGS[token.name] : undefined;
    if (boolean) {
      if (token.inlineValue) throw new UsageError(`${flag} takes no value`);
      args[boolean] = true;
      continue;
    }
    throw new UsageError(`unknown option "${flag}"`);
  }
  if (args.hold && !args.dashboard) throw new UsageError('--hold needs --dashboard');
  if (seen.has('--dashboard-port') && !args.dashboard)
    throw new UsageError('--dashboard-port needs --dashboard');
  return { name: 'demo', args };
}
