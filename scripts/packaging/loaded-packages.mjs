/** Reads a record-loads.mjs log: which packages were loaded at all, and which ones files under `ownRoot` import. */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { pathToFileURL } from 'node:url';

/** `…/node_modules/@scope/name/lib/x.js` → `@scope/name` (the innermost node_modules). */
export function packageOf(url) {
  const marker = '/node_modules/';
  const at = url.lastIndexOf(marker);
  if (at === -1) return undefined;
  const [first, second] = url.slice(at + marker.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

/** `xstate/graph` → `xstate`, `@scope/name/x` → `@scope/name`; relative, absolute and builtin specifiers → undefined. */
export function bareName(specifier) {
  if (/^(\.|\/|node:|file:|data:)/.test(specifier) || !/^[@a-z0-9]/i.test(specifier)) return undefined;
  const parts = specifier.split('/');
  if (builtinModules.includes(parts[0])) return undefined;
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

export function loadedPackages(logFile, ownRoot) {
  const ownUrl = pathToFileURL(ownRoot).href;
  const loaded = new Set();
  const importedByOwn = new Set();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line) continue;
    const { specifier, parent, url } = JSON.parse(line);
    const name = packageOf(String(url));
    if (name) loaded.add(name);
    const bare = bareName(String(specifier));
    if (
      bare &&
      typeof parent === 'string' &&
      parent.startsWith(ownUrl) &&
      !parent.includes('/node_modules/', ownUrl.length)
    ) {
      importedByOwn.add(bare);
    }
  }
  return { loaded: [...loaded].sort(), importedByOwn: [...importedByOwn].sort() };
}
