/**
 * Crawlee for tests: storage in memory (and, should anything be written, a temporary directory, never the repo),
 * its log silenced, a fresh configuration per crawler so request queues never leak between tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

if (process.env.CRAWLEE_STORAGE_DIR === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'crawlee-storage-'));
  process.env.CRAWLEE_STORAGE_DIR = dir;
  // At exit, not after the first test file: files that share a worker (isolate: false) share this module.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}
process.env.CRAWLEE_PERSIST_STORAGE = 'false';

const crawlee: typeof import('crawlee') = await import('crawlee');
crawlee.log.setLevel(crawlee.log.LEVELS.OFF);

/** A configuration with its own in-memory storage client. */
export function freshConfig(): InstanceType<typeof crawlee.Configuration> {
  return new crawlee.Configuration({
    persistStorage: false,
    purgeOnStart: true,
    storageClient: new crawlee.MemoryStorage({ persistStorage: false }),
  });
}

export { crawlee };
