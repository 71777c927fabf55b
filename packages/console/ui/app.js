// llmscope console: a small hand-written module, no framework, no build. Every value from the
// store reaches the page through textContent (el() below), never as HTML.
const base = document.querySelector('meta[name="llmscope-base"]').content;
const token = new URLSearchParams(location.search).get('token');
const main = document.getElementById('main');
const statusEl = document.getElementById('status');

/** Builds an element: attributes (class, href, data-*), then children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
  for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function api(path, params) {
  const q = new URLSearchParams(params || {});
  if (token) q.set('token', token);
  const s = q.toString();
  return fetch(`${base}/api${path}${s ? '?' + s : ''}`).then(async (r) => {
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    return body;
  });
}

// One formatter each: toLocaleString(locale, options) builds a new Intl formatter per call (slow on 1,000 rows).
const NUMBER = new Intl.NumberFormat('en-US');
const TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const fmt = {
  ms: (v) => (v === undefined || v === null ? '' : v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v.toFixed(v < 10 ? 1 : 0) + ' ms'),
  usd: (v) => (v === undefined || v === null ? '' : v === 0 ? '$0' : v < 0.01 ? '$' + v.toFixed(5) : '$' + v.toFixed(3)),
  n: (v) => (v === undefined || v === null ? '' : NUMBER.format(v)),
  time: (ms) => TIME.format(ms),
  pct: (v) => (v * 100).toFixed(1) + '%',
};

function statusBadge(s) {
  return el('span', { class: `badge s${Math.floor(s / 100)}` }, s);
}

function table(headers, rows) {
  const head = el('tr', null, ...headers.map((h) => el('th', { class: h.num ? 'num' : undefined }, h.label)));
  const body = el('tbody');
  body.append(...rows);
  return el('table', null, el('thead', null, head), body);
}

function td(value, num) {
  return el('td', { class: num ? 'num' : undefined }, value);
}

function empty(text) {
  return el('div', { class: 'empty' }, text);
}

// ---- Requests (live) ----
let live; // EventSource of the requests page
const filters = { q: '', status: '', errors: false };

function requestRow(r) {
  const tr = el('tr', { class: 'link' + (r.status >= 500 || r.error ? ' error' : ''), 'data-id': r.id },
    td(fmt.time(r.startTimeMs)), td(r.method), td(r.route), el('td', null, statusBadge(r.status)), td(fmt.ms(r.durationMs), true),
    td(r.userId ?? ''), td(r.sessionId ?? ''), td(r.llmCalls || '', true), td(r.llmCalls ? fmt.n(r.inputTokens + r.outputTokens) : '', true),
    td(r.llmCalls ? fmt.usd(r.costUsd) : '', true), td(r.error ?? ''));
  tr.addEventListener('click', () => (location.hash = `#/trace/${encodeURIComponent(r.id)}`));
  return tr;
}

const REQUEST_HEADERS = [{ label: 'Time' }, { label: 'Method' }, { label: 'Route' }, { label: 'Status' }, { label: 'Duration', num: true }, { label: 'User' }, { label: 'Session' }, { label: 'LLM calls', num: true }, { label: 'Tokens', num: true }, { label: 'Cost', num: true }, { label: 'Error' }];

function matches(r) {
  if (filters.status && Math.floor(r.status / 100) !== Number(filters.status[0])) return false;
  if (filters.errors && r.status < 500 && !r.error) return false;
  if (filters.q) {
    const hay = `${r.method} ${r.route} ${r.userId ?? ''} ${r.sessionId ?? ''} ${r.feature ?? ''} ${r.id}`.toLowerCase();
    if (!hay.includes(filters.q.toLowerCase())) return false;
  }
  return true;
}

async function pageRequests() {
  const q = el('input', { type: 'search', placeholder: 'Filter: route, user, session, trace id', size: 36, id: 'filter' });
  q.value = filters.q;
  const status = el('select', { id: 'status-filter' }, el('option', { value: '' }, 'any status'), el('option', { value: '2xx' }, '2xx'), el('option', { value: '4xx' }, '4xx'), el('option', { value: '5xx' }, '5xx'));
  status.value = filters.status;
  const errors = el('input', { type: 'checkbox', id: 'errors-only' });
  errors.checked = filters.errors;
  const count = el('span', { class: 'muted', id: 'count' });
  const holder = el('div');
  main.replaceChildren(el('h1', null, 'Requests'), el('div', { class: 'filters' }, q, status, el('label', null, errors, ' errors only'), count), holder);
  const params = { limit: 1000 };
  if (filters.q) params.q = filters.q;
  if (filters.status) params.status = filters.status;
  if (filters.errors) params.errors = 'true';
  const data = await api('/requests', params);
  const rows = data.requests.map(requestRow);
  const t = table(REQUEST_HEADERS, rows);
  const body = t.querySelector('tbody');
  holder.replaceChildren(data.requests.length ? t : empty('No requests yet: make one to the app and it appears here.'));
  performance.mark('llmscope:requests-rendered');
  count.textContent = `${data.matched} of ${data.total} held`;
  const rerun = () => {
    filters.q = q.value.trim();
    filters.status = status.value;
    filters.errors = errors.checked;
    pageRequests();
  };
  q.addEventListener('change', rerun);
  status.addEventListener('change', rerun);
  errors.addEventListener('change', rerun);
  let shown = data.matched;
  openLive((batch) => {
    const fresh = batch.filter(matches);
    if (fresh.length === 0) return;
    if (!holder.contains(t)) holder.replaceChildren(t);
    for (const r of fresh) body.prepend(requestRow(r));
    while (body.children.length > 1000) body.lastElementChild.remove();
    shown += fresh.length;
    count.textContent = `${shown} shown, live`;
  });
}

function openLive(onBatch) {
  closeLive();
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  live = new EventSource(`${base}/api/events${q}`);
  let opened = false;
  live.addEventListener('open', () => {
    // A reconnection may have missed requests: reload the list (which opens a new stream).
    if (opened) return void pageRequests();
    opened = true;
    statusEl.textContent = 'live';
    statusEl.className = 'status live';
  });
  live.addEventListener('error', () => { statusEl.textContent = 'reconnecting…'; statusEl.className = 'status'; });
  live.addEventListener('requests', (e) => onBatch(JSON.parse(e.data)));
}

function closeLive() {
  if (live) live.close();
  live = undefined;
  statusEl.textContent = '';
  statusEl.className = 'status';
}

// ---- Trace (waterfall) ----
function spanKind(s) {
  const a = s.attributes;
  if (a['gen_ai.operation.name'] !== undefined || a['gen_ai.request.model'] !== undefined) return 'llm';
  if (a['llmscope.rag.step'] !== undefined || /^(retrieve|rerank|embed|retrieval|rag)/i.test(s.name) || a['llmscope.step.kind'] !== undefined) return 'rag';
  return 'span';
}

function llmDetails(call) {
  const parts = [call.model];
  if (call.inputTokens !== undefined) parts.push(`${fmt.n(call.inputTokens)} in / ${fmt.n(call.outputTokens ?? 0)} out tokens`);
  if (call.costUsd !== undefined && call.costUsd !== null) parts.push(fmt.usd(call.costUsd));
  if (call.ttftMs !== undefined) parts.push(`TTFT ${fmt.ms(call.ttftMs)}`);
  if (call.promptName) parts.push(`prompt ${call.promptName}@${call.promptVersion ?? '?'}${call.promptExperiment ? ` (experiment ${call.promptExperiment})` : ''}`);
  if (call.outcome === 'error') parts.push(`error ${call.errorType ?? ''}`);
  return parts.join(' · ');
}

function waterfall(trace) {
  const spans = trace.spans.slice().sort((a, b) => a.startTimeMs - b.startTimeMs);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const depth = (s) => { let d = 0; let p = s.parentSpanId; while (p && byId.has(p) && d < 30) { d++; p = byId.get(p).parentSpanId; } return d; };
  const start = Math.min(...spans.map((s) => s.startTimeMs));
  const end = Math.max(...spans.map((s) => s.startTimeMs + s.durationMs));
  const total = Math.max(end - start, 0.001);
  const calls = new Map(trace.calls.filter((c) => c.spanId).map((c) => [c.spanId, c]));
  const scores = trace.scores;
  const box = el('div', { class: 'waterfall', id: 'waterfall' });
  for (const s of spans) {
    const kind = spanKind(s);
    const bar = el('div', { class: 'bar' });
    bar.style.left = `${((s.startTimeMs - start) / total) * 100}%`;
    bar.style.width = `${(s.durationMs / total) * 100}%`;
    const name = el('div', { class: 'name' }, el('span', { class: `kind ${kind === 'span' ? 'step' : kind}` }, kind === 'span' ? 'step' : kind), s.name);
    name.style.paddingLeft = `${depth(s) * 14}px`;
    const row = el('div', { class: `span ${kind}${s.error ? ' error' : ''}`, 'data-span': s.spanId }, name, el('div', { class: 'track' }, bar), el('div', { class: 'ms' }, fmt.ms(s.durationMs)));
    const call = calls.get(s.spanId);
    if (call) {
      const own = scores.filter((x) => x.spanId === s.spanId).map((x) => `${x.name}=${x.value}`);
      row.append(el('div', { class: 'details' }, llmDetails(call) + (own.length ? ` · scores ${own.join(', ')}` : '')));
    } else if (kind === 'rag') {
      const a = s.attributes;
      const info = Object.keys(a).filter((k) => k.startsWith('llmscope.') || k.startsWith('db.')).slice(0, 4).map((k) => `${k}=${a[k]}`);
      if (info.length) row.append(el('div', { class: 'details' }, info.join(' · ')));
    }
    box.append(row);
  }
  return box;
}

async function pageTrace(id) {
  const t = await api(`/traces/${encodeURIComponent(id)}`);
  const r = t.request;
  const items = [el('h1', null, r ? `${r.method} ${r.route}` : `Trace ${t.id}`)];
  if (r) {
    items.push(el('div', { class: 'cards' },
      el('div', { class: 'card' }, 'Status', el('b', null, r.status)), el('div', { class: 'card' }, 'Duration', el('b', null, fmt.ms(r.durationMs))),
      el('div', { class: 'card' }, 'LLM calls', el('b', null, r.llmCalls)), el('div', { class: 'card' }, 'Tokens', el('b', null, fmt.n(r.inputTokens + r.outputTokens))),
      el('div', { class: 'card' }, 'Cost', el('b', null, fmt.usd(r.costUsd))), el('div', { class: 'card' }, 'User', el('b', null, r.userId ?? '–')),
      el('div', { class: 'card' }, 'Session', el('b', null, r.sessionId ?? '–')), el('div', { class: 'card' }, 'Trace id', el('b', null, r.traceId ?? 'untraced'))));
    if (r.error) items.push(el('pre', null, r.error));
  }
  items.push(el('h2', null, 'Waterfall'));
  items.push(t.spans.length ? waterfall(t) : empty('No spans kept for this request (tracing off, or the trace was not sampled).'));
  if (t.calls.length) {
    items.push(el('h2', null, 'LLM calls'));
    items.push(table([{ label: 'Model' }, { label: 'Operation' }, { label: 'Duration', num: true }, { label: 'TTFT', num: true }, { label: 'In', num: true }, { label: 'Out', num: true }, { label: 'Cost', num: true }, { label: 'Prompt' }, { label: 'Outcome' }],
      t.calls.map((c) => el('tr', { class: c.outcome === 'error' ? 'error' : undefined }, td(c.model), td(c.operation), td(fmt.ms(c.durationMs), true), td(fmt.ms(c.ttftMs), true), td(fmt.n(c.inputTokens), true), td(fmt.n(c.outputTokens), true), td(fmt.usd(c.costUsd), true), td(c.promptName ? `${c.promptName}@${c.promptVersion ?? '?'}` : ''), td(c.outcome === 'error' ? c.errorType ?? 'error' : 'ok')))));
    for (const c of t.calls) {
      if (c.inputMessages) items.push(el('h2', null, `Messages sent to ${c.model}`), el('pre', null, c.inputMessages));
      if (c.outputMessages) items.push(el('h2', null, `Answer from ${c.model}`), el('pre', null, c.outputMessages));
    }
  }
  if (t.scores.length) {
    items.push(el('h2', null, 'Scores'));
    items.push(table([{ label: 'Name' }, { label: 'Value' }, { label: 'Source' }, { label: 'Evaluator' }, { label: 'Comment' }],
      t.scores.map((s) => el('tr', null, td(s.name), td(s.value), td(s.source), td(s.evaluator), td(s.comment ?? '')))));
  }
  items.push(el('h2', null, 'Log lines'));
  items.push(t.logs.length ? logTable(t.logs) : empty('No log line of this request: turn on llmscope\'s `logging` for its request and LLM lines, and log the app\'s lines through the console\'s `logger`.'));
  main.replaceChildren(...items);
}

/** The trace's log lines: llmscope's (event http_request, llm_call, score...) and the app's, oldest first. */
function logTable(logs) {
  const rows = logs.map((l) => {
    const f = l.fields;
    const rest = Object.keys(f).filter((k) => k !== 'event' && k !== 'trace_id').map((k) => `${k}=${f[k]}`).join('  ');
    return el('tr', { class: `log ${l.level}` }, td(fmt.time(l.timeMs)), el('td', null, el('span', { class: `level ${l.level}` }, l.level)), td(f.event ?? ''), td(l.msg ?? ''), el('td', { class: 'fields' }, rest));
  });
  const t = table([{ label: 'Time' }, { label: 'Level' }, { label: 'Event' }, { label: 'Message' }, { label: 'Fields' }], rows);
  t.id = 'logs';
  return t;
}

// ---- Sessions ----
async function pageSessions() {
  const data = await api('/sessions');
  const rows = data.sessions.map((s) => {
    const tr = el('tr', { class: 'link' }, td(s.sessionId), td(s.userId ?? ''), td(s.requests, true), td(s.llmCalls, true), td(fmt.n(s.inputTokens + s.outputTokens), true), td(fmt.usd(s.costUsd), true), td(s.errors || '', true), td(fmt.time(s.firstMs)), td(fmt.time(s.lastMs)));
    tr.addEventListener('click', () => (location.hash = `#/session/${encodeURIComponent(s.sessionId)}`));
    return tr;
  });
  main.replaceChildren(el('h1', null, 'Sessions'), rows.length ? table([{ label: 'Session' }, { label: 'User' }, { label: 'Requests', num: true }, { label: 'LLM calls', num: true }, { label: 'Tokens', num: true }, { label: 'Cost', num: true }, { label: 'Errors', num: true }, { label: 'First' }, { label: 'Last' }], rows) : empty('No request carried a session id yet (x-session-id header, or identify()).'));
}

async function pageSession(id) {
  const data = await api(`/sessions/${encodeURIComponent(id)}`);
  const cost = data.requests.reduce((s, r) => s + r.costUsd, 0);
  const tokens = data.requests.reduce((s, r) => s + r.inputTokens + r.outputTokens, 0);
  main.replaceChildren(el('h1', null, `Session ${id}`),
    el('div', { class: 'cards' }, el('div', { class: 'card' }, 'Requests', el('b', null, data.requests.length)), el('div', { class: 'card' }, 'Tokens', el('b', null, fmt.n(tokens))), el('div', { class: 'card' }, 'Cost', el('b', null, fmt.usd(cost)))),
    el('h2', null, 'Conversation, in order'),
    table(REQUEST_HEADERS, data.requests.map(requestRow)));
}

// ---- Charts: hand-written SVG, built with createElementNS and textContent like the rest ----
const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#3451b2', '#d68910', '#8e44ad', '#23845f', '#c0392b', '#2e86c1', '#7f8c8d', '#b7950b'];

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  if (attrs) for (const k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
  for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** A round upper bound for an axis (1, 2 or 5 times a power of ten). */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * A stacked column chart over time: one column per bucket, one colour per series (`series`:
 * [{ label, values }]), a y axis from 0 to a round maximum, time labels at both ends and the middle.
 */
function stackedChart(series, { fromMs, bucketMs, format, id }) {
  const W = 880, H = 240, L = 70, R = 12, T = 10, B = 26;
  const n = series.length ? series[0].values.length : 0;
  const sums = new Array(n).fill(0);
  for (const s of series) s.values.forEach((v, i) => (sums[i] += v));
  const max = niceMax(Math.max(0, ...sums));
  const cw = (W - L - R) / Math.max(n, 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', id });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }), svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, format(v)));
  }
  const base = new Array(n).fill(0);
  series.forEach((s, si) => {
    const g = svg('g', { fill: s.colour || PALETTE[si % PALETTE.length], 'data-series': s.label });
    s.values.forEach((v, i) => {
      if (v <= 0) return;
      const top = y(base[i] + v);
      const rect = svg('rect', { x: L + i * cw + 1, y: top, width: Math.max(cw - 2, 1), height: Math.max(y(base[i]) - top, 0.5) });
      rect.append(svg('title', null, `${s.label}: ${format(v)} (${fmt.time(fromMs + i * bucketMs)})`));
      g.append(rect);
      base[i] += v;
    });
    root.append(g);
  });
  for (const i of [0, Math.floor(n / 2), n]) root.append(svg('text', { x: L + i * cw, y: H - 8, 'text-anchor': i === 0 ? 'start' : i === n ? 'end' : 'middle', class: 'axis' }, fmt.time(fromMs + i * bucketMs)));
  const legend = el('div', { class: 'legend' }, ...series.map((s, si) => {
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = s.colour || PALETTE[si % PALETTE.length];
    return el('span', null, swatch, s.label);
  }));
  return el('div', { class: 'chartbox' }, root, legend);
}

/** Horizontal p50/p95/p99 bars, one group per key (routes or models), on one ms axis. */
function percentileChart(rows, id) {
  const W = 880, L = 230, R = 60, rowH = 34, T = 6;
  const H = T + rows.length * rowH + 22;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.p99Ms ?? 0)));
  const x = (v) => L + (W - L - R) * (v / max);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', id });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    root.append(svg('line', { x1: x(v), x2: x(v), y1: T, y2: H - 20, class: 'grid' }), svg('text', { x: x(v), y: H - 6, 'text-anchor': 'middle', class: 'axis' }, fmt.ms(v)));
  }
  const marks = [['p50', 'p50Ms', PALETTE[0]], ['p95', 'p95Ms', PALETTE[1]], ['p99', 'p99Ms', PALETTE[4]]];
  rows.forEach((r, i) => {
    const top = T + i * rowH;
    root.append(svg('text', { x: L - 8, y: top + rowH / 2 + 4, 'text-anchor': 'end', class: 'label' }, r.key.length > 34 ? r.key.slice(0, 33) + '…' : r.key));
    marks.forEach(([label, field, colour], j) => {
      const v = r[field] ?? 0;
      const bar = svg('rect', { x: L, y: top + 4 + j * 9, width: Math.max(x(v) - L, 1), height: 7, fill: colour });
      bar.append(svg('title', null, `${r.key} ${label} ${fmt.ms(v)} (${r.count} samples)`));
      root.append(bar);
    });
    root.append(svg('text', { x: x(r.p99Ms ?? 0) + 4, y: top + rowH / 2 + 4, class: 'axis' }, fmt.ms(r.p99Ms)));
  });
  const legend = el('div', { class: 'legend' }, ...marks.map(([label, , colour]) => {
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = colour;
    return el('span', null, swatch, label);
  }));
  return el('div', { class: 'chartbox' }, root, legend);
}

// ---- Cost ----
const DIMENSION_LABELS = { model: 'model', user: 'user', session: 'session', feature: 'feature', promptVersion: 'prompt version' };
/** Keys drawn in the chart; the rest is one "other" band. */
const CHART_KEYS = 6;

async function pageCost(by, metric) {
  const select = el('select', { id: 'cost-by' }, ...Object.keys(DIMENSION_LABELS).map((d) => el('option', { value: d }, DIMENSION_LABELS[d])));
  select.value = by;
  const what = el('select', { id: 'cost-metric' }, el('option', { value: 'cost' }, 'cost'), el('option', { value: 'tokens' }, 'tokens'));
  what.value = metric;
  const go = () => (location.hash = `#/cost/${select.value}/${what.value}`);
  select.addEventListener('change', go);
  what.addEventListener('change', go);
  const data = await api('/cost', { by, buckets: 40 });
  const field = metric === 'tokens' ? 'tokenSeries' : 'series';
  const format = metric === 'tokens' ? (v) => fmt.n(Math.round(v)) : fmt.usd;
  const top = data.rows.slice(0, CHART_KEYS);
  const series = top.map((r) => ({ label: r.key, values: r[field] }));
  const other = data.total[field].map((v, i) => v - top.reduce((s, r) => s + r[field][i], 0));
  if (other.some((v) => v > 1e-12)) series.push({ label: 'other', values: other.map((v) => Math.max(v, 0)), colour: '#c3c8d4' });
  const max = Math.max(...data.rows.map((r) => (metric === 'tokens' ? r.inputTokens + r.outputTokens : r.costUsd)), 1e-12);
  const rows = data.rows.map((r, i) => {
    const bar = el('div', { class: 'hbar' });
    bar.style.width = `${((metric === 'tokens' ? r.inputTokens + r.outputTokens : r.costUsd) / max) * 100}%`;
    if (i < CHART_KEYS) bar.style.background = PALETTE[i % PALETTE.length];
    return el('tr', null, td(r.key), td(r.calls, true), td(fmt.n(r.inputTokens), true), td(fmt.n(r.outputTokens), true), td(fmt.usd(r.costUsd), true), td(r.calls ? fmt.usd(r.costUsd / r.calls) : '', true), el('td', { class: 'barcell' }, bar));
  });
  main.replaceChildren(el('h1', null, `${metric === 'tokens' ? 'Tokens' : 'Cost'} by ${DIMENSION_LABELS[by]} over time`),
    el('div', { class: 'filters' }, 'Show ', what, ' by ', select, el('span', { class: 'muted' }, `last ${data.windowMinutes} min, ${fmt.usd(data.total.costUsd)} and ${fmt.n(data.total.inputTokens + data.total.outputTokens)} tokens in ${fmt.n(data.total.calls)} calls`)),
    ...(rows.length ? [stackedChart(series, { fromMs: data.fromMs, bucketMs: data.bucketMs, format, id: 'cost-chart' }),
      table([{ label: DIMENSION_LABELS[by] }, { label: 'Calls', num: true }, { label: 'Input tokens', num: true }, { label: 'Output tokens', num: true }, { label: 'Cost', num: true }, { label: 'Cost / call', num: true }, { label: '' }], rows)] : [empty('No LLM call in the window.')]));
}

// ---- Prompt versions and experiments, side by side ----
const STATE_LABELS = { watching: 'guarded', rolling_out: 'rolling out', holding: 'holding', completed: 'completed', rolled_back: 'rolled back' };

function comparison(prompt, versions, status) {
  const scoreNames = [...new Set(versions.flatMap((v) => Object.keys(v.scores)))].sort();
  // An experiment named after its prompt (the usual case) is not repeated in each column.
  const head = el('tr', null, el('th', null, ''), ...versions.map((v) => el('th', { class: 'num' }, `${v.version}${v.experiment && v.experiment !== prompt ? ` (${v.experiment})` : ''}`)));
  const line = (label, cells, best) => {
    const values = cells.map((c) => c.value);
    const pick = best === undefined || versions.length < 2 ? undefined : best === 'min' ? Math.min(...values.filter((v) => v !== undefined)) : Math.max(...values.filter((v) => v !== undefined));
    return el('tr', null, el('th', null, label), ...cells.map((c) => el('td', { class: 'num' + (pick !== undefined && c.value === pick ? ' best' : '') }, c.text)));
  };
  const rows = [];
  if (status) rows.push(line('traffic weight', versions.map((v) => { const w = status.weights[v.version]; return { value: w, text: w === undefined ? '' : `${w}%` }; })));
  rows.push(line('calls', versions.map((v) => ({ value: v.calls, text: fmt.n(v.calls) }))));
  for (const name of scoreNames) rows.push(line(`quality: ${name}`, versions.map((v) => { const s = v.scores[name]; return { value: s?.mean, text: s ? `${s.mean.toFixed(2)} (${s.count})` : '' }; }), 'max'));
  rows.push(line('p50', versions.map((v) => ({ value: v.p50Ms, text: fmt.ms(v.p50Ms) })), 'min'));
  rows.push(line('p95', versions.map((v) => ({ value: v.p95Ms, text: fmt.ms(v.p95Ms) })), 'min'));
  rows.push(line('error rate', versions.map((v) => ({ value: v.errorRate, text: fmt.pct(v.errorRate) })), 'min'));
  rows.push(line('cost / call', versions.map((v) => ({ value: v.costPerCallUsd, text: fmt.usd(v.costPerCallUsd) })), 'min'));
  const t = el('table', { class: 'compare', 'data-prompt': prompt }, el('thead', null, head), el('tbody', null, ...rows));
  return t;
}

function rollout(status) {
  const items = [el('div', { class: 'cards' },
    el('div', { class: 'card' }, 'State', el('b', { class: `state ${status.state}` }, STATE_LABELS[status.state] ?? status.state)),
    el('div', { class: 'card' }, 'Baseline', el('b', null, status.baseline ?? '–')),
    el('div', { class: 'card' }, status.step === undefined ? 'Candidates' : 'Candidate', el('b', null, status.candidates.join(', ') || '–')),
    status.step === undefined ? null : el('div', { class: 'card' }, 'Step', el('b', null, status.step + 1)))];
  const outcomes = Object.entries(status.outcomes).flatMap(([candidate, list]) => list.map((o) => el('tr', { class: o.status === 'fail' ? 'error' : undefined },
    td(candidate), td(o.rule + (o.score ? ` (${o.score})` : '')), td(o.status), td(o.candidate.toFixed(4), true), td(o.baseline.toFixed(4), true), td(o.bound.toFixed(4), true), td(o.pValue === undefined ? '' : o.pValue.toFixed(3), true), td(`${o.samples.candidate} / ${o.samples.baseline}`, true))));
  if (outcomes.length) items.push(table([{ label: 'Candidate' }, { label: 'Rule' }, { label: 'Status' }, { label: 'Candidate', num: true }, { label: 'Baseline', num: true }, { label: 'Bound', num: true }, { label: 'p-value', num: true }, { label: 'Samples', num: true }], outcomes));
  return items;
}

async function pagePrompts() {
  const data = await api('/prompts');
  const prompts = [...new Set(data.versions.map((v) => v.prompt))];
  const items = [el('h1', null, 'Prompt versions and experiments'), el('div', { class: 'muted' }, `Last ${data.windowMinutes} min; the best value of each line is marked.`)];
  if (prompts.length === 0) items.push(empty('No LLM call carried a prompt version in the window (getPrompt(), setPromptVersion()).'));
  for (const prompt of prompts) {
    const status = data.guards[prompt];
    const versions = data.versions.filter((v) => v.prompt === prompt);
    const arms = versions.some((v) => v.experiment) ? ` · experiment, ${versions.length} arms` : '';
    items.push(el('h2', null, prompt + arms), comparison(prompt, versions, status));
    if (status) items.push(el('h2', null, `Rollout of ${prompt}`), ...rollout(status));
  }
  if (data.events.length) {
    items.push(el('h2', null, 'Rollout events'));
    items.push(table([{ label: 'Time' }, { label: 'Prompt' }, { label: 'Event' }, { label: 'Why' }], data.events.map((e) => el('tr', { class: e.type === 'rollback' ? 'error' : undefined },
      td(fmt.time(e.timeMs)), td(e.prompt), td(e.type === 'rollback' ? `rolled back ${e.from} → ${e.to}` : e.type === 'advance' ? `${e.candidate} to ${e.weight}%` : `${e.type} ${e.candidate ?? ''}`), el('td', { class: 'why' }, e.reason)))));
  }
  main.replaceChildren(...items);
}

// ---- Latency ----
async function pageLatency() {
  const data = await api('/latency');
  const t = (rows, label) => table([{ label }, { label: 'Count', num: true }, { label: 'p50', num: true }, { label: 'p95', num: true }, { label: 'p99', num: true }], rows.map((r) => el('tr', null, td(r.key), td(r.count, true), td(fmt.ms(r.p50Ms), true), td(fmt.ms(r.p95Ms), true), td(fmt.ms(r.p99Ms), true))));
  const part = (rows, label, id) => (rows.length ? [percentileChart(rows.slice(0, 12), id), t(rows, label)] : [empty('Nothing in the window.')]);
  main.replaceChildren(el('h1', null, 'Latency percentiles'), el('h2', null, 'Per route'), ...part(data.routes, 'Route', 'latency-routes'), el('h2', null, 'Per model'), ...part(data.models, 'Model', 'latency-models'));
}

// ---- Router ----
async function route() {
  const [, page = '', arg] = location.hash.split('/').map(decodeURIComponent);
  if (page !== '') closeLive();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === (page || 'requests') || (page === 'trace' && a.dataset.page === 'requests') || (page === 'session' && a.dataset.page === 'sessions'));
  try {
    if (page === '') await pageRequests();
    else if (page === 'trace') await pageTrace(arg);
    else if (page === 'sessions') await pageSessions();
    else if (page === 'session') await pageSession(arg);
    else if (page === 'cost') await pageCost(arg || 'model', location.hash.split('/')[3] === 'tokens' ? 'tokens' : 'cost');
    else if (page === 'prompts') await pagePrompts();
    else if (page === 'latency') await pageLatency();
    else main.replaceChildren(empty('No such page.'));
  } catch (error) {
    main.replaceChildren(el('div', { class: 'empty error' }, String(error.message || error)));
  }
  document.body.dataset.ready = page || 'requests';
}

window.addEventListener('hashchange', route);
route();
