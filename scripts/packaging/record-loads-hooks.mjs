/** Resolve hook of record-loads.mjs (runs on Node's hooks thread). */
import { appendFileSync } from 'node:fs';

let log;

export function initialize(data) {
  log = data.log;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(log, `${JSON.stringify({ specifier, parent: context.parentURL, url: result.url })}\n`);
  return result;
}
