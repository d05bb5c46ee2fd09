/** The dashboard page: one self-contained HTML document (inline CSS and script, no external assets). */
import { PAGE_SCRIPT } from './page-script.js';

const STYLE = `
:root { color-scheme: dark; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif; background: #010409; color: #e6edf3; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 16px; border-bottom: 1px solid #30363d; flex-wrap: wrap; }
h1 { font-size: 16px; margin: 0; }
.badge { padding: 2px 8px; border-radius: 10px; background: #30363d; font-size: 12px; }
.badge.live { background: #238636; }
.badge.done { background: #1f6feb; }
.counts { display: flex; gap: 12px; flex-wrap: wrap; }
.counts span, #reasons span { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) 380px; gap: 12px; padding: 12px 16px; }
section { background: #0d1117; border: 1px solid #30363d; border-radius: 6px; padding: 8px; min-width: 0; }
h2 { font-size: 13px; margin: 0 0 6px; color: #8b949e; font-weight: 600; }
#tiles { display: block; cursor: pointer; }
#reasons { display: flex; gap: 12px; flex-wrap: wrap; font-size: 12px; margin-top: 4px; }
#context { margin: 0; font: 12px/1.35 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap;
  word-break: break-all; max-height: 75vh; overflow: auto; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;

const LEGEND = [
  ['fresh', '#79c0ff'],
  ['active', '#2ea043'],
  ['degraded', '#d29922'],
  ['blocked', '#f85149'],
  ['expired', '#a371f7'],
  ['retired', '#30363d'],
]
  .map(
    ([name, color]) =>
      `<span><i style="background:${color}"></i>${name} <b data-count="${name}">0</b></span>`,
  )
  .join('');

/** The dashboard's HTML. */
export function dashboardHtml(title = 'session-supervisor'): string {
  const safeTitle = title.replace(/[<>&"]/g, '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safeTitle} · dashboard</title><style>${STYLE}</style></head>
<body>
<header><h1>${safeTitle}</h1><span id="status" class="badge">connecting</span>
<div class="counts">${LEGEND}<span>created <b id="created">0</b></span><span>tiles <b id="tile-count">0</b></span><span>in flight <b id="reserved">0</b></span></div></header>
<main>
<div>
<section><h2>Sessions (one tile each, colored by machine state; click one)</h2><canvas id="tiles"></canvas></section>
<section style="margin-top:12px"><h2>Retirement timeline by reason</h2><canvas id="timeline"></canvas><div id="reasons"></div></section>
</div>
<section><h2>Session context (credentials redacted)</h2><pre id="context">Click a tile.</pre></section>
<section style="margin-top:12px"><h2>Pool stats</h2><pre id="stats"></pre></section>
</main>
<script>${PAGE_SCRIPT}</script>
</body></html>`;
}
