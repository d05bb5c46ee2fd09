/**
 * The dashboard's browser script, inlined into the page (no external assets). Tiles are drawn on a canvas and only
 * the tiles that changed are repainted, once per animation frame, so 10,000 sessions stay smooth. `window.dashboard`
 * exposes read-only accessors for tests and for poking around in the console.
 */
export const PAGE_SCRIPT = `
'use strict';
const COLORS = { fresh: '#79c0ff', active: '#2ea043', degraded: '#d29922', blocked: '#f85149', expired: '#a371f7', retired: '#30363d' };
const REASON_COLORS = { blocked: '#f85149', blockedStatusCode: '#ff7b72', expired: '#a371f7', maxUsageCount: '#8b949e', manual: '#58a6ff', initFailed: '#e3b341', checkFailed: '#db61a2' };
const TIMELINE_SECONDS = 120;
const tilesCanvas = document.getElementById('tiles');
const timelineCanvas = document.getElementById('timeline');
const contextPanel = document.getElementById('context');
const statusBadge = document.getElementById('status');
let states = [];
let ids = [];
let codes = [];
let counts = {};
let created = 0;
let retired = 0;
let retiredByReason = {};
let stats = null;
const statsPanel = document.getElementById('stats');
const reservedCell = document.getElementById('reserved');
const timeline = new Map();
let dirty = new Set();
let fullRedraw = true;
let frame = 0;
let layout = { size: 12, cols: 1, capacity: 0 };
let selected = -1;
let deltas = 0;
let draws = 0;
let slowestDrawMs = 0;

function schedule() { if (!frame) frame = requestAnimationFrame(draw); }

function contentWidth(element) {
  const style = getComputedStyle(element);
  return element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}

function computeLayout(count) {
  const width = Math.max(200, contentWidth(tilesCanvas.parentElement));
  const capacity = Math.max(64, Math.ceil(count * 1.25));
  const area = width * Math.max(240, window.innerHeight * 0.62);
  const size = Math.max(3, Math.min(28, Math.floor(Math.sqrt(area / capacity))));
  const cols = Math.max(1, Math.floor(width / size));
  const rows = Math.ceil(capacity / cols);
  const ratio = window.devicePixelRatio || 1;
  tilesCanvas.style.width = cols * size + 'px';
  tilesCanvas.style.height = rows * size + 'px';
  tilesCanvas.width = Math.round(cols * size * ratio);
  tilesCanvas.height = Math.round(rows * size * ratio);
  tilesCanvas.getContext('2d').setTransform(ratio, 0, 0, ratio, 0, 0);
  layout = { size, cols, capacity: cols * rows };
}

function paintTile(ctx, slot) {
  const { size, cols } = layout;
  const x = (slot % cols) * size;
  const y = Math.floor(slot / cols) * size;
  ctx.fillStyle = '#0d1117';
  ctx.fillRect(x, y, size, size);
  ctx.fillStyle = COLORS[states[codes[slot]]] || '#000';
  const gap = size > 5 ? 1 : 0;
  ctx.fillRect(x + gap, y + gap, size - 2 * gap, size - 2 * gap);
  if (slot === selected) {
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2;
    ctx.strokeRect(x + 1, y + 1, size - 2, size - 2);
  }
}

function draw() {
  frame = 0;
  draws += 1;
  const drawStart = performance.now();
  if (codes.length > layout.capacity) fullRedraw = true;
  const ctx = tilesCanvas.getContext('2d');
  if (fullRedraw) {
    computeLayout(codes.length);
    ctx.fillStyle = '#0d1117';
    ctx.fillRect(0, 0, tilesCanvas.width, tilesCanvas.height);
    for (let slot = 0; slot < codes.length; slot += 1) paintTile(ctx, slot);
    fullRedraw = false;
  } else {
    for (const slot of dirty) paintTile(ctx, slot);
  }
  dirty = new Set();
  for (const name of states) {
    const cell = document.querySelector('[data-count="' + name + '"]');
    if (cell) cell.textContent = name === 'retired' ? String(retired) : String(counts[name] || 0);
  }
  document.getElementById('created').textContent = String(created);
  document.getElementById('tile-count').textContent = String(codes.length);
  drawTimeline();
  slowestDrawMs = Math.max(slowestDrawMs, performance.now() - drawStart);
}

function drawTimeline() {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(200, contentWidth(timelineCanvas.parentElement));
  const height = 120;
  if (timelineCanvas.width !== Math.round(width * ratio)) {
    timelineCanvas.style.width = width + 'px';
    timelineCanvas.style.height = height + 'px';
    timelineCanvas.width = Math.round(width * ratio);
    timelineCanvas.height = Math.round(height * ratio);
  }
  const ctx = timelineCanvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = '#0d1117';
  ctx.fillRect(0, 0, width, height);
  const newest = timeline.size ? Math.max(...timeline.keys()) : Date.now();
  let peak = 1;
  for (const [second, reasons] of timeline) {
    if (second <= newest - TIMELINE_SECONDS * 1000) continue;
    let total = 0;
    for (const reason in reasons) total += reasons[reason];
    peak = Math.max(peak, total);
  }
  const bar = width / TIMELINE_SECONDS;
  for (const [second, reasons] of timeline) {
    const age = Math.round((newest - second) / 1000);
    if (age >= TIMELINE_SECONDS) continue;
    const x = width - (age + 1) * bar;
    let y = height - 14;
    for (const reason of Object.keys(reasons).sort()) {
      const h = (reasons[reason] / peak) * (height - 24);
      ctx.fillStyle = REASON_COLORS[reason] || '#8b949e';
      ctx.fillRect(x, y - h, Math.max(1, bar - 1), h);
      y -= h;
    }
  }
  ctx.fillStyle = '#8b949e';
  ctx.font = '11px sans-serif';
  ctx.fillText('retirements per second, last ' + TIMELINE_SECONDS + ' s (peak ' + peak + ')', 4, height - 2);
  const legend = document.getElementById('reasons');
  const entries = Object.keys(retiredByReason).sort().map(function (reason) {
    return '<span><i style="background:' + (REASON_COLORS[reason] || '#8b949e') + '"></i>' + reason + ' ' + retiredByReason[reason] + '</span>';
  });
  legend.innerHTML = entries.join('') || '<span>no retirements yet</span>';
}

function addToTimeline(t, reasons) {
  const second = t - (t % 1000);
  const bucket = timeline.get(second) || {};
  for (const reason in reasons) bucket[reason] = (bucket[reason] || 0) + reasons[reason];
  timeline.set(second, bucket);
  if (timeline.size > 600) timeline.delete(timeline.keys().next().value);
}

const source = new EventSource('events');
source.addEventListener('snapshot', function (event) {
  const snap = JSON.parse(event.data);
  states = snap.states; ids = snap.ids; codes = snap.codes; counts = snap.counts;
  created = snap.created; retired = snap.retired; retiredByReason = snap.retiredByReason;
  showStats(snap.stats);
  timeline.clear();
  for (const entry of snap.timeline) timeline.set(entry[0], entry[1]);
  fullRedraw = true;
  schedule();
});
source.addEventListener('delta', function (event) {
  const delta = JSON.parse(event.data);
  deltas += 1;
  for (const slot in delta.ids) ids[slot] = delta.ids[slot];
  for (let i = 0; i < delta.tiles.length; i += 2) {
    const slot = delta.tiles[i];
    while (codes.length <= slot) { codes.push(5); ids.push(''); }
    codes[slot] = delta.tiles[i + 1];
    dirty.add(slot);
  }
  counts = delta.counts; created = delta.created; retired = delta.retired;
  for (const reason in delta.retiredNow) retiredByReason[reason] = (retiredByReason[reason] || 0) + delta.retiredNow[reason];
  addToTimeline(delta.t, delta.retiredNow);
  if (delta.stats) showStats(delta.stats);
  schedule();
});

function showStats(next) {
  if (!next) return;
  stats = next;
  reservedCell.textContent = String(next.uses.reserved);
  const lines = [];
  for (const name in next) {
    if (typeof next[name] === 'number') lines.push(name.padEnd(18) + ' ' + next[name]);
  }
  lines.push('uses (released)    good ' + next.uses.good + ', bad ' + next.uses.bad + ', aborted ' + next.uses.aborted + ', unused ' + next.uses.unused);
  lines.push('uses in flight     ' + next.uses.reserved);
  lines.push('sessions           live ' + next.sessions.live + ', usable ' + next.sessions.usable + ', created ' + next.sessions.created + ', retired ' + next.sessions.retired);
  if (next.fleet) lines.push.apply(lines, fleetLines(next.fleet));
  statsPanel.textContent = lines.join('\\n');
}

// A fleet pool's counters (this worker's requests and leases, retirements heard fleet-wide).
function fleetLines(fleet) {
  const reasons = [];
  for (const reason in fleet.retiredByReason) reasons.push(reason + ' ' + fleet.retiredByReason[reason]);
  return [
    'fleet              ' + (fleet.connected ? 'connected' : 'DISCONNECTED') + ', requests ' + fleet.requests + ', round trips ' + fleet.roundTrips,
    'fleet leases       granted ' + fleet.leasesGranted + ', lost ' + fleet.leasesLost + ', expired ' + fleet.leasesExpired,
    'fleet retired      ' + (reasons.length ? reasons.join(', ') : 'none'),
  ];
}
source.addEventListener('end', function () {
  statusBadge.textContent = 'crawl finished';
  statusBadge.className = 'badge done';
  source.close();
});
source.onopen = function () { statusBadge.textContent = 'live'; statusBadge.className = 'badge live'; };
source.onerror = function () {
  if (source.readyState !== EventSource.CLOSED) { statusBadge.textContent = 'reconnecting'; statusBadge.className = 'badge'; }
};

function slotAt(clientX, clientY) {
  const rect = tilesCanvas.getBoundingClientRect();
  const col = Math.floor((clientX - rect.left) / layout.size);
  const row = Math.floor((clientY - rect.top) / layout.size);
  if (col < 0 || col >= layout.cols || row < 0) return -1;
  const slot = row * layout.cols + col;
  return slot < codes.length ? slot : -1;
}

async function showSession(slot) {
  const previous = selected;
  selected = slot;
  if (previous >= 0) dirty.add(previous);
  dirty.add(slot);
  schedule();
  const id = ids[slot];
  if (!id) { contextPanel.textContent = 'empty tile'; return; }
  contextPanel.textContent = 'loading ' + id + '…';
  try {
    const response = await fetch('api/sessions/' + encodeURIComponent(id));
    const body = await response.json();
    if (selected !== slot) return;
    contextPanel.textContent = response.ok ? JSON.stringify(body, null, 2) : (body.error || 'not found');
  } catch (error) {
    contextPanel.textContent = 'could not load ' + id + ': ' + error;
  }
}

tilesCanvas.addEventListener('click', function (event) {
  const slot = slotAt(event.clientX, event.clientY);
  if (slot >= 0) showSession(slot);
});
window.addEventListener('resize', function () { fullRedraw = true; schedule(); });

window.dashboard = {
  tileCount: function () { return codes.length; },
  stateOf: function (slot) { return states[codes[slot]]; },
  idOf: function (slot) { return ids[slot]; },
  states: function () { return codes.map(function (code) { return states[code]; }); },
  deltaCount: function () { return deltas; },
  drawCount: function () { return draws; },
  slowestDrawMs: function () { return slowestDrawMs; },
  selected: function () { return selected; },
  stats: function () { return stats; },
  slotCenter: function (slot) {
    const rect = tilesCanvas.getBoundingClientRect();
    return { x: rect.left + (slot % layout.cols + 0.5) * layout.size, y: rect.top + (Math.floor(slot / layout.cols) + 0.5) * layout.size };
  },
};
`;
