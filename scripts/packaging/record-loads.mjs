/**
 * `node --import ./record-loads.mjs entry.js`: records every module the process loads, ESM (through a resolve hook)
 * and CommonJS (`require`, including our `createRequire` peer loader), one JSON line per load
 * `{ specifier, parent, url }` appended to the file named by `RECORD_LOADS_FILE`. Used by the packaging tests to
 * check which packages an entry point pulls in.
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const log = process.env.RECORD_LOADS_FILE;
if (!log) throw new Error('record-loads.mjs needs RECORD_LOADS_FILE');

register('./record-loads-hooks.mjs', import.meta.url, { data: { log } });

const load = Module._load;
Module._load = function recordedLoad(request, parent, isMain) {
  const result = load.call(this, request, parent, isMain);
  let url = request;
  try {
    url = pathToFileURL(Module._resolveFilename(request, parent, isMain)).href;
  } catch {
    // a builtin, or already reported by the resolver
  }
  const from = parent?.filename ? pathToFileURL(parent.filename).href : undefined;
  appendFileSync(log, `${JSON.stringify({ specifier: request, parent: from, url })}\n`);
  return result;
};
