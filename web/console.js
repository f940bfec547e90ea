// primusd's web console: plain JavaScript, no build step, nothing fetched from elsewhere.
// Every action is a service API call (POST /api/call/<method>, the control socket's methods);
// live data comes over one server-sent event stream (GET /api/stream). docs/web.md.
'use strict';

const HISTORY_MS = 10000;          // strip chart width
const TIMELINE_MS = 10000;
const CHANNELS = ['acc x', 'acc y', 'acc z', 'gyro x', 'gyro y', 'gyro z'];
const COLORS = ['#d1495b', '#2e933c', '#2458d3', '#d1495b', '#2e933c', '#2458d3'];

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;  // CSSOM: allowed by the console's CSP
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
const fmtTime = (ns) => ns ? new Date(ns / 1e6).toLocaleString() : '';
const num = (v, d = 3) => (typeof v === 'number' && isFinite(v)) ? v.toFixed(d) : '–';

// What tests and people can read from the page: counters of what arrived and was drawn.
const stats = {
  messages: 0, frames: {}, draws: 0, fps: 0, framesPerSecond: 0, events: 0, lastEvent: null,
  reconnects: 0, captures: 0, modelVersion: null, activeVersion: null, trainState: 'idle',
  lastTraining: null, timelineItems: 0,
};
window.primusConsole = { stats, call };

const state = {
  session: null, devices: [], dev: {}, offset: null, es: null, labelling: {}, models: null,
  labels: new Set(),
};

// ---- the service API ----------------------------------------------------------------------------

async function call(method, params = {}) {
  const r = await fetch('/api/call/' + method, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Primus-Request': '1' },
    body: JSON.stringify(params),
  });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 401) { showLogin(); }
  if (!body || !body.ok) {
    const err = new Error(body && body.error ? body.error.message : 'HTTP ' + r.status);
    err.code = body && body.error ? body.error.code : 'http_' + r.status;
    throw err;
  }
  return body.result;
}

function say(id, text, bad = false) {
  const e = $(id);
  e.textContent = text;
  e.className = bad ? 'error' : 'muted';
}

// ---- login --------------------------------------------------------------------------------------

function showLogin() { $('login').hidden = false; $('login-token').focus(); }

async function login(ev) {
  ev.preventDefault();
  const r = await fetch('/api/login', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Primus-Request': '1' },
    body: JSON.stringify({ token: $('login-token').value }),
  });
  if (r.ok) { $('login').hidden = true; $('login-token').value = ''; start(); return; }
  $('login-error').textContent = r.status === 401 ? 'wrong token' : 'login failed (HTTP ' + r.status + ')';
}

async function logout() {
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-Primus-Request': '1' } });
  location.reload();
}

// ---- devices and charts ---------------------------------------------------------------------------

function deviceCard(id) {
  const chart = el('canvas', { height: '180', 'data-chart': id });
  const timeline = el('canvas', { height: '40', 'data-timeline': id });
  const scores = el('div', { class: 'scores' });
  const card = el('div', { class: 'device', 'data-device': id },
    el('div', { class: 'head' }, el('b', {}, id),
      el('span', { class: 'pill', 'data-state': '' }, '…'),
      el('span', { class: 'muted', 'data-rates': '' }),
      el('span', { class: 'pill busy', 'data-labelling': '', hidden: '' })),
    el('div', {}, chart, timeline),
    el('div', { class: 'side' }, el('div', { class: 'muted' }, 'live scores'), scores,
      el('div', { class: 'muted', 'data-legend': '' },
        'acc (m/s²) top, gyro (rad/s) bottom: x red, y green, z blue')));
  $('devices').append(card);
  state.dev[id] = {
    card, chart, timeline, scoresEl: scores, t: [], v: [], lastIndex: -1, gestures: [], truth: [],
    open: new Map(),
  };
  stats.frames[id] = 0;
  $('teach-device').append(el('option', { value: id }, id));
}

function onFrames(m) {
  const d = state.dev[m.device];
  if (!d) return;
  trackClock(m.now_ms);
  const n = m.t_ms.length;
  for (let k = 0; k < n; ++k) {
    const idx = m.i0 + k;
    if (idx <= d.lastIndex) continue;  // the history and the live pushes may overlap
    d.lastIndex = idx;
    d.t.push(m.t_ms[k]);
    d.v.push(m.v.slice(k * 6, k * 6 + 6));
    stats.frames[m.device]++;
  }
  const cut = m.now_ms - HISTORY_MS - 1000;
  let drop = 0;
  while (drop < d.t.length && d.t[drop] < cut) ++drop;
  if (drop) { d.t.splice(0, drop); d.v.splice(0, drop); }
}

// Daemon time (CLOCK_MONOTONIC ms) = performance.now() - offset; offset follows the least delayed.
function trackClock(nowMs) {
  const off = performance.now() - nowMs;
  if (state.offset === null || off < state.offset) state.offset = off;
  else state.offset += (off - state.offset) * 0.02;
}
const daemonNow = () => performance.now() - (state.offset || 0);

// A cleared canvas sized to its box, and the daemon-time span [left, right] it shows (ms): the
// right edge trails now by 100 ms so that the newest frames have arrived.
function begin(c, spanMs) {
  const w = c.clientWidth;
  if (c.width !== w) c.width = w;
  const h = c.height, ctx = c.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  const right = daemonNow() - 100;
  return { w, h, ctx, right, left: right - spanMs };
}

function drawChart(d) {
  const { w, h, ctx, right, left } = begin(d.chart, HISTORY_MS);
  const half = h / 2;
  ctx.strokeStyle = '#dde1e8'; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(0, half); ctx.lineTo(w, half); ctx.stroke();
  for (let s = Math.ceil(left / 1000) * 1000; s < right; s += 1000) {
    const x = (s - left) / HISTORY_MS * w;
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
  }
  if (!d.t.length) return;
  for (let g = 0; g < 2; ++g) {
    let lo = Infinity, hi = -Infinity;
    for (const row of d.v) for (let ch = g * 3; ch < g * 3 + 3; ++ch) { lo = Math.min(lo, row[ch]); hi = Math.max(hi, row[ch]); }
    const span = Math.max(hi - lo, g ? 0.5 : 2), mid = (hi + lo) / 2;
    const top = g * half + 4, H = half - 8;
    ctx.fillStyle = '#6b7385'; ctx.font = '10px sans-serif';
    ctx.fillText((mid + span / 2).toFixed(1), 2, top + 8);
    ctx.fillText((mid - span / 2).toFixed(1), 2, top + H);
    for (let ch = g * 3; ch < g * 3 + 3; ++ch) {
      ctx.strokeStyle = COLORS[ch]; ctx.lineWidth = 1.2; ctx.beginPath();
      let started = false, prevT = null;
      for (let k = 0; k < d.t.length; ++k) {
        const t = d.t[k];
        if (t < left) continue;
        const x = (t - left) / HISTORY_MS * w;
        const y = top + H * (0.5 - (d.v[k][ch] - mid) / span);
        if (!started || (prevT !== null && t - prevT > 200)) ctx.moveTo(x, y); else ctx.lineTo(x, y);
        started = true; prevT = t;
      }
      ctx.stroke();
    }
  }
}

function drawTimeline(d) {
  const { w, h, ctx, right, left } = begin(d.timeline, TIMELINE_MS);
  const X = (ms) => (ms - left) / TIMELINE_MS * w;
  ctx.fillStyle = '#f0f2f6'; ctx.fillRect(0, 0, w, h);
  ctx.font = '11px sans-serif';
  for (const s of d.truth) {  // what a simulated device really did
    if (s.end < left || !s.label) continue;
    ctx.fillStyle = '#c9cfdb'; ctx.fillRect(X(s.start), h - 10, Math.max(2, X(s.end) - X(s.start)), 8);
    ctx.fillStyle = '#6b7385'; ctx.fillText(s.label, X(s.start) + 2, h - 12);
  }
  for (const g of d.gestures) {
    const end = g.end === null ? right : g.end;
    if (end < left) continue;
    ctx.fillStyle = g.end === null ? '#f5b041' : '#2458d3';
    ctx.fillRect(X(g.start), 3, Math.max(3, X(end) - X(g.start)), 14);
    ctx.fillStyle = '#fff';
    ctx.fillText(g.label, X(g.start) + 3, 14);
  }
}

let lastSecond = performance.now(), drawsThisSecond = 0, framesAtSecond = 0;
function frame() {
  for (const id of state.devices) { drawChart(state.dev[id]); drawTimeline(state.dev[id]); }
  stats.draws++; drawsThisSecond++;
  const now = performance.now();
  if (now - lastSecond >= 1000) {
    const total = Object.values(stats.frames).reduce((a, b) => a + b, 0);
    stats.fps = drawsThisSecond * 1000 / (now - lastSecond);
    stats.framesPerSecond = (total - framesAtSecond) * 1000 / (now - lastSecond);
    framesAtSecond = total; drawsThisSecond = 0; lastSecond = now;
    $('rates').textContent = `${stats.fps.toFixed(0)} fps · ${stats.framesPerSecond.toFixed(0)} samples/s`;
  }
  requestAnimationFrame(frame);
}

function onScores(m) {
  const d = state.dev[m.device];
  if (!d) return;
  d.scoresEl.replaceChildren(...m.top.map(([label, p]) => el('div', {},
    el('div', { style: 'flex:1' }, el('div', {}, label), el('div', { class: 'bar', style: `width:${(p * 100).toFixed(0)}%` })),
    el('span', {}, (p * 100).toFixed(0) + '%'))));
  if (m.model_version) { $('model').textContent = 'model ' + m.model_version; stats.modelVersion = m.model_version; }
}

function onGesture(m) {
  const d = state.dev[m.device];
  const start = m.onset.t_host_ns / 1e6, end = m.offset.t_host_ns / 1e6;
  if (d) {
    let g = d.open.get(m.seq);
    if (!g) { g = { label: m.label, start, end: null, seq: m.seq }; d.gestures.push(g); d.open.set(m.seq, g); stats.timelineItems++; }
    if (m.phase !== 'start') { g.end = end; d.open.delete(m.seq); }
    const cut = daemonNow() - TIMELINE_MS * 3;
    d.gestures = d.gestures.filter((x) => x.end === null || x.end > cut);
  }
  stats.events++; stats.lastEvent = m;
  const text = m.phase === 'start'
    ? `${m.device}: ${m.label} started (confidence ${num(m.confidence, 2)})`
    : `${m.device}: ${m.label} ended after ${num(m.duration_s, 1)} s (confidence ${num(m.confidence, 2)}, ${m.windows} windows)`;
  logLine('events', text, 200);
}

function onTruth(m) {
  const d = state.dev[m.device];
  if (!d) return;
  d.truth.push({ label: m.label, start: m.t_start_host_ns / 1e6, end: m.t_end_host_ns / 1e6 });
  if (d.truth.length > 50) d.truth.shift();
}

function onDevice(m) {
  const d = state.dev[m.device];
  if (!d) return;
  const pill = d.card.querySelector('[data-state]');
  pill.textContent = m.state;
  pill.className = 'pill ' + (m.state === 'connected' ? 'on' : 'off');
}

function logLine(id, text, keep) {
  const list = $(id);
  list.prepend(el('li', {}, new Date().toLocaleTimeString() + '  ' + text));
  while (list.children.length > keep) list.lastChild.remove();
}

// ---- status (polled) ------------------------------------------------------------------------------

async function refreshStatus() {
  let st;
  try { st = await call('status'); } catch (e) { return; }
  $('version').textContent = 'v' + st.version + ' · up ' + Math.round(st.uptime_s) + ' s';
  if (st.model) {
    $('model').textContent = 'model ' + st.model.version;
    stats.modelVersion = st.model.version;
    for (const l of st.model.labels || []) addLabel(l);
  }
  for (const dv of st.devices || []) {
    const d = state.dev[dv.id];
    if (!d) continue;
    onDevice({ device: dv.id, state: dv.state });
    const p = dv.pipeline || {};
    const drops = (p.samples_lost || 0) + (p.dropped_duplicate || 0) + (p.nan_dropped || 0) + (p.bad_quat || 0);
    d.card.querySelector('[data-rates]').textContent =
      `${num(dv.rate_hz, 1)} Hz in · ${dv.windows} windows · ${drops} dropped · clock offset ${num(dv.clock_offset_s, 3)} s`;
  }
}

async function refreshDevices() {
  let r;
  try { r = await call('devices.list'); } catch (e) { return; }
  for (const dv of r.devices) {
    const d = state.dev[dv.id];
    if (!d) continue;
    const lab = dv.labelling;
    state.labelling[dv.id] = lab || null;
    const pill = d.card.querySelector('[data-labelling]');
    pill.hidden = !lab;
    if (lab) pill.textContent = 'labelling ' + (lab.label || '');
  }
  updateTeachButtons();
}

// ---- teach ----------------------------------------------------------------------------------------

function addLabel(l) {
  if (!l || state.labels.has(l)) return;
  state.labels.add(l);
  $('known-labels').append(el('option', { value: l }));
}

function updateTeachButtons() {
  const dev = $('teach-device').value;
  const open = !!state.labelling[dev];
  $('teach-start').disabled = open;
  $('teach-stop').disabled = !open;
}

async function teachStart() {
  const device = $('teach-device').value, label = $('teach-label').value.trim();
  if (!label) return say('teach-msg', 'type a label first', true);
  try {
    await call('label.start', { device, label });
    say('teach-msg', `labelling ${device} as "${label}": perform the gesture, then Stop`);
    addLabel(label);
  } catch (e) { say('teach-msg', e.message, true); }
  refreshDevices();
}

async function teachStop() {
  const device = $('teach-device').value;
  try {
    const r = await call('label.stop', { device });
    say('teach-msg', `captured ${r.samples ?? ''} samples as "${r.label ?? ''}" (capture ${r.capture_id ?? r.id ?? '?'})`);
  } catch (e) { say('teach-msg', e.message, true); }
  refreshDevices();
  setTimeout(refreshCaptures, 300);
}

async function teachMark() {
  const device = $('teach-device').value, label = $('teach-label').value.trim();
  const last_s = parseFloat($('mark-seconds').value);
  if (!label) return say('teach-msg', 'type a label first', true);
  try {
    const r = await call('label.mark', { device, label, last_s });
    say('teach-msg', `marked the last ${last_s} s of ${device} as "${label}"` + (r.samples ? ` (${r.samples} samples)` : ''));
    addLabel(label);
  } catch (e) { say('teach-msg', e.message, true); }
  setTimeout(refreshCaptures, 300);
}

async function refreshCaptures() {
  const filter = $('captures-filter').value;
  let r, labels;
  try {
    r = await call('captures.list', filter ? { label: filter, limit: 200 } : { limit: 200 });
    labels = await call('labels.list');
  } catch (e) { return; }
  stats.captures = r.captures.length;
  const key = JSON.stringify([r.captures, labels.captured]);
  if (key === state.capturesKey) return;  // unchanged: keep the rows (and a pending click)
  state.capturesKey = key;
  const tbody = $('captures').querySelector('tbody');
  tbody.replaceChildren(...r.captures.map((c) => el('tr', { 'data-capture': c.id },
    el('td', {}, c.id), el('td', {}, c.device), el('td', {}, c.label), el('td', {}, c.windows),
    el('td', {}, num(c.duration_s, 1) + ' s'), el('td', {}, fmtTime(c.created_wall_ns)),
    el('td', {}, el('button', { class: 'danger small', onclick: () => deleteCapture(c.id) }, 'delete')))));
  const per = {};
  for (const e of labels.captured) {
    per[e.label] = per[e.label] || { captures: 0, windows: 0 };
    per[e.label].captures += e.captures; per[e.label].windows += e.windows;
    addLabel(e.label);
  }
  $('captured-summary').textContent = Object.keys(per).length
    ? Object.entries(per).map(([l, v]) => `${l}: ${v.captures} captures, ${v.windows} windows`).join(' · ')
    : 'nothing captured yet';
  const sel = $('captures-filter'), keep = sel.value;
  sel.replaceChildren(el('option', { value: '' }, 'all'), ...Object.keys(per).map((l) => el('option', { value: l }, l)));
  sel.value = per[keep] ? keep : '';
  $('captures-delete-label').disabled = !sel.value;
}

async function deleteCapture(id) {
  try { await call('captures.delete', { id }); say('teach-msg', `capture ${id} deleted`); } catch (e) { say('teach-msg', e.message, true); }
  refreshCaptures();
}

async function deleteLabel() {
  const label = $('captures-filter').value;
  if (!label || !confirm(`Delete every capture labelled "${label}"?`)) return;
  try { const r = await call('captures.delete', { label }); say('teach-msg', `${r.deleted} captures of "${label}" deleted`); } catch (e) { say('teach-msg', e.message, true); }
  $('captures-filter').value = '';
  refreshCaptures();
}

// ---- train ----------------------------------------------------------------------------------------

async function trainStart() {
  const mode = $('train-mode').value;
  try {
    const r = await call('finetune.run', mode ? { mode } : {});
    logLine('train-log', `fine-tune queued (job ${r.job ?? '?'})`, 50);
  } catch (e) { logLine('train-log', 'refused: ' + e.message, 50); }
  refreshTraining();
}

function showProgress(p) {
  if (!p) return;
  const frac = p.epochs ? p.epoch / p.epochs : 0;
  $('train-progress').firstElementChild.style.width = (frac * 100).toFixed(0) + '%';
  $('train-detail').textContent = `epoch ${p.epoch}/${p.epochs} (${p.phase || ''}) · train loss ${num(p.train_loss)} · val loss ${num(p.val_loss)} · val macro-F1 ${num(p.val_macro_f1)} · ${num(p.seconds, 1)} s`;
}

async function refreshTraining() {
  let st;
  try { st = await call('finetune.status'); } catch (e) { $('train-state').textContent = 'unavailable'; return; }
  stats.trainState = st.state;
  const pill = $('train-state');
  pill.textContent = st.state === 'running' ? `running job ${st.job}` : 'idle';
  pill.className = 'pill ' + (st.state === 'running' ? 'busy' : '');
  $('train-start').disabled = st.state === 'running';
  if (st.progress) showProgress(st.progress);
  if (st.state !== 'running' && st.last) {
    const m = st.last.metrics || {};
    $('train-detail').textContent = `last job ${st.last.job}: ${st.last.decision}` +
      (m.val_macro_f1 !== undefined ? ` · val macro-F1 ${num(m.val_macro_f1)}` : '') +
      (m.val_event_f1 !== undefined && m.val_event_f1 !== null ? ` · val event F1 ${num(m.val_event_f1)}` : '') +
      (st.last.reason ? ` · ${st.last.reason}` : '');
  }
}

function onTraining(m) {
  stats.lastTraining = m;
  const mt = m.metrics || {};
  switch (m.event) {
    case 'started': logLine('train-log', `job ${m.job} started (${m.mode}, from version ${m.parent})`, 50); break;
    case 'progress': showProgress(m.progress || m); stats.trainState = 'running'; break;
    case 'accepted': logLine('train-log', `job ${m.job}: accepted as version ${m.version} (val macro-F1 ${num(mt.val_macro_f1)}, event F1 ${num(mt.val_event_f1)}) ${m.reason || ''}`, 50); break;
    case 'rejected': logLine('train-log', `job ${m.job}: rejected (${m.reason || ''})`, 50); break;
    case 'failed': logLine('train-log', `job ${m.job}: failed: ${m.reason || ''}`, 50); break;
    case 'activated': logLine('train-log', `version ${m.version} is live (was ${m.previous})`, 50); refreshModels(); break;
    default: break;
  }
  if (m.event !== 'progress') refreshTraining();
}

// ---- models ---------------------------------------------------------------------------------------

async function refreshModels() {
  let r;
  try { r = await call('models.list'); } catch (e) { say('models-msg', e.message, true); return; }
  state.models = r;
  stats.activeVersion = r.active;
  const tbody = $('models').querySelector('tbody');
  tbody.replaceChildren(...[...r.versions].reverse().map((v) => {
    const m = v.metrics || {};
    const tr = el('tr', { 'data-version': v.version, class: v.version === r.active ? 'active' : '' },
      el('td', {}, v.version), el('td', {}, v.version === r.active ? v.status + ' (live)' : v.status),
      el('td', {}, v.mode || ''), el('td', {}, num(m.val_macro_f1)), el('td', {}, eventF1(m)),
      el('td', {}, (v.labels || []).join(', ')), el('td', {}, fmtTime(v.created_wall_ns)),
      el('td', {}, v.version === r.active ? '' : el('button', { class: 'small', onclick: () => activate(v) }, 'activate')));
    tr.addEventListener('click', (ev) => { if (ev.target.tagName !== 'BUTTON') showConfusion(v); });
    return tr;
  }));
  const live = r.versions.find((v) => v.version === r.active);
  if (live) showConfusion(live);
}

// Validation event F1; with a calibration, before -> after it (docs/events.md).
function eventF1(m) {
  const c = m.calibration;
  if (c && c.before && c.after) return `${num(m.val_event_f1)} (calibrated ${num(c.before.event_f1)} → ${num(c.after.event_f1)})`;
  return num(m.val_event_f1);
}

function showConfusion(v) {
  const m = v.metrics || {};
  const conf = m.confusion || (m.val && m.val.confusion);
  const box = $('confusion');
  if (!conf || !v.labels) { box.replaceChildren(el('p', { class: 'muted' }, `version ${v.version}: no confusion matrix stored`)); return; }
  // A column past the labels counts predictions of a class the validation data does not have.
  const cols = Math.max(...conf.map((row) => row.length), v.labels.length);
  const names = Array.from({ length: cols }, (_, j) => v.labels[j] ?? 'other');
  const head = el('tr', {}, el('th', {}, 'true \\ predicted'), ...names.map((l) => el('th', {}, l)));
  const rows = conf.map((row, i) => el('tr', {}, el('th', {}, v.labels[i] || i),
    ...row.map((n, j) => el('td', { style: i === j ? 'font-weight:600' : (n ? 'color:#c0392b' : '') }, n))));
  box.replaceChildren(el('h3', {}, `version ${v.version}: validation confusion`), el('table', {}, head, ...rows));
}

async function activate(v) {
  const force = v.status === 'rejected';
  if (force && !confirm(`Version ${v.version} was rejected by the gate. Activate it anyway?`)) return;
  say('models-msg', `activating version ${v.version}…`);
  try { const r = await call('models.activate', { version: v.version, force }); say('models-msg', `version ${r.active} is live (was ${r.previous})`); } catch (e) { say('models-msg', e.message, true); }
  refreshModels();
}

async function rollback() {
  say('models-msg', 'rolling back…');
  try { const r = await call('models.rollback'); say('models-msg', `rolled back: version ${r.active} is live (was ${r.previous})`); } catch (e) { say('models-msg', e.message, true); }
  refreshModels();
}

// ---- the live stream ------------------------------------------------------------------------------

function connect() {
  if (state.es) state.es.close();
  const es = new EventSource('/api/stream');
  state.es = es;
  const on = (name, fn) => es.addEventListener(name, (ev) => {
    stats.messages++;
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    fn(m);
  });
  on('hello', (m) => {
    $('link').textContent = 'live'; $('link').className = 'pill on';
    trackClock(m.now_ms);
  });
  on('frames', onFrames);
  on('scores', onScores);
  on('gesture', onGesture);
  on('truth', onTruth);
  on('device', onDevice);
  on('training', onTraining);
  on('status', () => {});
  es.onerror = () => {
    $('link').textContent = 'reconnecting…'; $('link').className = 'pill off';
    stats.reconnects++;
  };
}

async function start() {
  const r = await fetch('/api/session', { credentials: 'same-origin' });
  const s = await r.json();
  if (!s.authenticated) { showLogin(); return; }
  $('logout').hidden = !s.auth_required;
  state.session = s;
  state.devices = s.devices;
  $('devices').replaceChildren();
  $('teach-device').replaceChildren();
  for (const id of s.devices) deviceCard(id);
  connect();
  refreshStatus(); refreshDevices(); refreshCaptures(); refreshTraining(); refreshModels();
  setInterval(refreshStatus, 2000);
  setInterval(refreshDevices, 3000);
  setInterval(refreshTraining, 5000);
  setInterval(refreshCaptures, 5000);  // captures made elsewhere (primusctl, a client) show up too
  requestAnimationFrame(frame);
}

window.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('teach-device').addEventListener('change', updateTeachButtons);
  $('teach-start').addEventListener('click', teachStart);
  $('teach-stop').addEventListener('click', teachStop);
  $('teach-mark').addEventListener('click', teachMark);
  $('captures-filter').addEventListener('change', refreshCaptures);
  $('captures-delete-label').addEventListener('click', deleteLabel);
  $('train-start').addEventListener('click', trainStart);
  $('models-rollback').addEventListener('click', rollback);
  start();
});
