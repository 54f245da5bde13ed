/* global document, window, EventSource, fetch, performance, requestAnimationFrame, getComputedStyle */
// The live dashboard: plain JavaScript, no build step, nothing loaded from elsewhere.
// State comes from GET /pool (a snapshot), then from two Server-Sent Event streams: the
// pool's events (tiles, counters, log) and the cleanup stream's ticks.

const CHART_WINDOW_MS = 120_000;
const MIN_CHART_WINDOW_MS = 20_000;
const SAMPLE_EVERY_MS = 250;
const MAX_LOG_ROWS = 500;
const MAX_TICKS = 60;
const RESYNC_EVERY_MS = 15_000;

const CATEGORY = {
  'connect-start': 'connect',
  'connect-end': 'connect',
  'connect-failed': 'problem',
  'connection-acquired': 'lease',
  'connection-released': 'lease',
  'no-new-exchanges': 'close',
  'connection-closed': 'close',
  'connection-leaked': 'problem',
  'lease-held-too-long': 'problem',
  'acquire-timeout': 'problem',
  'cleanup-failed': 'problem',
  dropped: 'problem',
  'cleanup-tick': 'tick',
};

const $ = (id) => document.getElementById(id);

const state = {
  startedAt: Date.now(),
  /** The pool's clock minus this browser's, so that event times can be placed on the local clock. */
  clockOffset: 0,
  keepAliveMs: 300_000,
  admin: false,
  connections: new Map(),
  /** Ids closed lately: an older snapshot must not bring them back. */
  closed: new Set(),
  totals: { connects: 0, acquired: 0, reused: 0, closed: 0, failures: 0 },
  samples: [],
  tickMarks: [],
  lastTick: null,
  streams: { events: '/pool/events', cleanupTicks: '/pool/cleanup-ticks' },
  eventTypes: [],
  liveStreams: 0,
};

// ---- snapshot -------------------------------------------------------------------------

async function loadSnapshot(initial) {
  const response = await fetch('/pool', { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /pool answered ${response.status}`);
  const snapshot = await response.json();
  state.clockOffset = snapshot.now - Date.now();
  state.keepAliveMs = snapshot.options.keepAliveMs;
  state.admin = snapshot.admin.enabled;
  state.streams = snapshot.streams;
  state.eventTypes = snapshot.eventTypes;
  $('upstream').textContent = `${snapshot.upstream.url} (${snapshot.upstream.embedded ? 'embedded, ' : ''}${snapshot.upstream.protocol})`;
  $('keep-alive').textContent = formatMs(snapshot.options.keepAliveMs);
  $('max-idle').textContent = String(snapshot.options.maxIdleConnections);
  $('phase').textContent = snapshot.phase;
  $('admin-token-field').hidden = !state.admin;
  if (initial) {
    const { totals } = snapshot.stats;
    Object.assign(state.totals, { connects: totals.connects, acquired: totals.acquired, reused: totals.reused, closed: totals.closed, failures: totals.connectFailures });
    if (snapshot.stats.cleanup.lastTickAt !== null) {
      state.lastTick = { at: snapshot.stats.cleanup.lastTickAt, delay: snapshot.stats.cleanup.lastDelay, evicted: 0 };
    }
    renderPresets(snapshot.upstream.examples);
  }
  const present = new Set();
  for (const info of snapshot.connections) {
    present.add(info.id);
    if (state.closed.has(info.id)) continue;
    upsert(info.id, {
      address: info.address,
      state: info.state,
      allocations: info.allocations,
      allocationLimit: info.allocationLimit,
      idleAt: info.idleAt,
      noNewExchanges: info.noNewExchanges,
    });
  }
  // Connections the snapshot no longer has went away while the stream was not listening.
  for (const [id, connection] of state.connections) {
    if (!present.has(id) && connection.state !== 'evicted' && connection.state !== 'failed') evict(id, 'gone');
  }
  renderCounters();
}

// ---- connections and tiles ------------------------------------------------------------

function upsert(id, fields) {
  let connection = state.connections.get(id);
  if (connection === undefined) {
    connection = { id, address: '', state: 'connecting', allocations: 0, allocationLimit: 1, idleAt: null, noNewExchanges: false, reason: null, element: null };
    state.connections.set(id, connection);
  }
  Object.assign(connection, fields);
  renderTile(connection);
  return connection;
}

function evict(id, reason, failed = false) {
  const connection = state.connections.get(id);
  if (connection === undefined || connection.state === 'evicted' || connection.state === 'failed') return;
  connection.state = failed ? 'failed' : 'evicted';
  connection.reason = reason;
  state.closed.add(id);
  renderTile(connection);
  const element = connection.element;
  const remove = () => {
    if (state.connections.get(id) === connection) state.connections.delete(id);
    element.remove();
    renderEmpty();
  };
  element.addEventListener('animationend', (event) => event.animationName === 'fade' && remove());
  // Should the animation not run (a hidden tab), the tile still goes.
  window.setTimeout(remove, 2_500);
}

function renderTile(connection) {
  let element = connection.element;
  if (element === null) {
    element = document.createElement('div');
    element.className = 'tile';
    element.dataset.connectionId = connection.id;
    element.innerHTML = '<span class="state"></span><span class="id"></span><span class="address"></span><span class="meta"></span><div class="bar"><span></span></div>';
    if (state.admin) {
      const button = document.createElement('button');
      button.className = 'evict';
      button.type = 'button';
      button.title = 'Evict this connection (DELETE /pool/connections/:id)';
      button.textContent = 'evict';
      button.addEventListener('click', () => evictOnServer(connection.id));
      element.append(button);
    }
    connection.element = element;
    // Its state before it is shown: it appears in its colour.
    element.dataset.state = connection.state;
    $('tiles').append(element);
  }
  if (element.dataset.state !== connection.state) element.dataset.state = connection.state;
  if (connection.noNewExchanges) element.dataset.flag = 'no-new-exchanges';
  element.querySelector('.id').textContent = connection.id;
  element.querySelector('.state').textContent = connection.state === 'inUse' ? 'in use' : connection.state;
  element.querySelector('.address').textContent = connection.address;
  element.setAttribute('aria-label', `connection ${connection.id}: ${connection.state}`);
  renderTileMeta(connection);
  renderEmpty();
}

function renderTileMeta(connection) {
  const element = connection.element;
  if (element === null) return;
  const meta = element.querySelector('.meta');
  const bar = element.querySelector('.bar span');
  if (connection.state === 'idle' && connection.idleAt !== null) {
    const idleMs = Math.max(0, serverNow() - connection.idleAt);
    meta.textContent = `idle ${formatMs(idleMs)}`;
    bar.style.width = `${Math.min(100, (idleMs / state.keepAliveMs) * 100)}%`;
  } else if (connection.state === 'inUse') {
    meta.textContent = `leases ${connection.allocations}/${connection.allocationLimit}`;
    bar.style.width = '0';
  } else if (connection.state === 'evicted' || connection.state === 'failed') {
    meta.textContent = connection.reason ?? '';
    bar.style.width = '0';
  } else {
    meta.textContent = '';
    bar.style.width = '0';
  }
}

function renderEmpty() {
  $('tiles-empty').hidden = state.connections.size > 0;
}

function counts() {
  const result = { connecting: 0, inUse: 0, idle: 0 };
  for (const connection of state.connections.values()) {
    if (connection.state in result) result[connection.state]++;
  }
  return result;
}

function renderCounters() {
  const now = counts();
  const values = {
    total: now.connecting + now.inUse + now.idle,
    connecting: now.connecting,
    inUse: now.inUse,
    idle: now.idle,
    connects: state.totals.connects,
    acquired: state.totals.acquired,
    reused: state.totals.reused,
    closed: state.totals.closed,
    failures: state.totals.failures,
  };
  for (const [name, value] of Object.entries(values)) {
    const element = $(`count-${name}`);
    element.dataset.value = String(value);
    element.textContent = String(value);
  }
  const ratio = state.totals.acquired === 0 ? '' : ` (${Math.round((state.totals.reused / state.totals.acquired) * 100)}%)`;
  $('count-reused').textContent = `${state.totals.reused}${ratio}`;
}

// ---- pool events ----------------------------------------------------------------------

function onPoolEvent(event) {
  const id = event.connectionId;
  switch (event.type) {
    case 'connect-start':
      state.closed.delete(id);
      upsert(id, { address: event.address, state: 'connecting' });
      state.totals.connects++;
      break;
    case 'connect-end':
      upsert(id, { address: event.address, state: 'idle', idleAt: event.at });
      break;
    case 'connect-failed':
      upsert(id, { address: event.address });
      evict(id, event.error ? event.error.code || event.error.message : 'connect failed', true);
      state.totals.failures++;
      break;
    case 'connection-acquired': {
      if (state.closed.has(id)) break;
      const connection = upsert(id, { address: event.address, state: 'inUse', allocations: event.allocations, allocationLimit: event.allocationLimit ?? 1, idleAt: null });
      state.totals.acquired++;
      if (event.reused) {
        state.totals.reused++;
        connection.element.classList.remove('reused');
        // Restart the pulse: a reflow between removing and adding the class.
        void connection.element.offsetWidth;
        connection.element.classList.add('reused');
      }
      break;
    }
    case 'connection-released':
      if (state.closed.has(id)) break;
      upsert(id, { allocations: event.allocations, state: event.allocations > 0 ? 'inUse' : 'idle', idleAt: event.allocations > 0 ? null : event.at });
      break;
    case 'no-new-exchanges':
      if (!state.closed.has(id)) upsert(id, { noNewExchanges: true });
      break;
    case 'connection-closed':
      evict(id, event.reason);
      state.totals.closed++;
      break;
    case 'connection-leaked':
    case 'lease-held-too-long': {
      const connection = state.connections.get(id);
      if (connection && connection.element) connection.element.dataset.flag = 'leak';
      break;
    }
    case 'pool-closing':
    case 'pool-closed':
      $('phase').textContent = event.type === 'pool-closing' ? 'closing' : 'closed';
      break;
    default:
      break;
  }
  renderCounters();
  log(event.type, event);
}

function describe(event) {
  switch (event.type) {
    case 'connect-end':
      return `connected in ${event.durationMs} ms`;
    case 'connect-failed':
      return `${event.error ? `${event.error.code ?? event.error.name}: ${event.error.message}` : 'failed'} (${event.durationMs} ms)`;
    case 'connection-acquired':
      return `${event.reused ? 'reused' : 'new connection'}, waited ${event.waitedMs} ms, leases ${event.allocations}`;
    case 'connection-released':
      return `held ${event.heldMs} ms, leases ${event.allocations}`;
    case 'connection-closed':
      return `reason: ${event.reason}`;
    case 'cleanup-tick':
      return `${event.evicted > 0 ? `evicted ${event.evicted}, ` : ''}${event.delay < 0 ? 'loop stopped (-1)' : `next in ${formatMs(event.delay)}`}`;
    case 'acquire-timeout':
      return `waited ${event.waitedMs} ms for ${event.address}`;
    case 'pool-closing':
      return `${event.leases} lease(s) held`;
    case 'pool-closed':
      return `${event.forced} connection(s) forced closed`;
    case 'dropped':
      return `${event.dropped} event(s) dropped: this page did not keep up`;
    default:
      return event.message ?? '';
  }
}

// ---- cleanup ticks --------------------------------------------------------------------

function onTick(tick) {
  state.lastTick = tick;
  state.tickMarks.push(tick.at - state.clockOffset);
  const item = document.createElement('li');
  item.dataset.delay = String(tick.delay);
  item.dataset.evicted = String(tick.evicted);
  const bar = Math.min(100, tick.delay < 0 ? 100 : (tick.delay / state.keepAliveMs) * 100);
  item.innerHTML = '<span class="time"></span><span class="delay-bar"><span></span></span><span class="what"></span><span class="evicted"></span>';
  item.querySelector('.time').textContent = formatTime(tick.at);
  item.querySelector('.delay-bar span').style.width = `${Math.max(2, bar)}%`;
  item.querySelector('.what').textContent = tick.delay < 0 ? 'stopped' : formatMs(tick.delay);
  if (tick.evicted > 0) item.querySelector('.evicted').textContent = `✕${tick.evicted}`;
  item.title = describe({ type: 'cleanup-tick', ...tick });
  const list = $('tick-list');
  list.prepend(item);
  while (list.children.length > MAX_TICKS) list.lastElementChild.remove();
  log('cleanup-tick', { type: 'cleanup-tick', ...tick });
}

function renderNextTick() {
  const element = $('next-tick');
  const tick = state.lastTick;
  if (tick === null || tick.delay < 0) {
    element.textContent = 'stopped (nothing to clean up)';
    return;
  }
  const left = tick.at + tick.delay - serverNow();
  element.textContent = left > 0 ? `in ${formatMs(left)}` : 'due';
}

// ---- event log ------------------------------------------------------------------------

function log(type, event) {
  const category = CATEGORY[type] ?? 'pool';
  const row = document.createElement('tr');
  row.dataset.type = type;
  row.dataset.category = category;
  const cells = [formatTime(event.at ?? serverNow()), type, event.connectionId ?? '', describe(event)];
  for (const [index, text] of cells.entries()) {
    const cell = document.createElement('td');
    if (index === 1) {
      const chip = document.createElement('span');
      chip.className = `chip ${category}`;
      chip.textContent = text;
      cell.append(chip);
    } else {
      cell.textContent = text;
    }
    row.append(cell);
  }
  row.dataset.search = `${type} ${event.connectionId ?? ''} ${event.address ?? ''} ${cells[3]}`.toLowerCase();
  applyFilter(row);
  const body = $('log-body');
  body.append(row);
  while (body.children.length > MAX_LOG_ROWS) body.firstElementChild.remove();
  if ($('log-follow').checked) $('log-scroll').scrollTop = $('log-scroll').scrollHeight;
}

function applyFilter(row) {
  const enabled = new Set([...document.querySelectorAll('#log-filters input:checked')].map((input) => input.dataset.category));
  const text = $('log-search').value.trim().toLowerCase();
  row.hidden = !enabled.has(row.dataset.category) || (text !== '' && !row.dataset.search.includes(text));
}

function refilter() {
  for (const row of $('log-body').children) applyFilter(row);
}

// ---- chart ----------------------------------------------------------------------------

function sample() {
  const now = Date.now();
  state.samples.push({ t: now, ...counts() });
  while (state.samples.length > 0 && state.samples[0].t < now - CHART_WINDOW_MS - SAMPLE_EVERY_MS) state.samples.shift();
  while (state.tickMarks.length > 0 && state.tickMarks[0] < now - CHART_WINDOW_MS) state.tickMarks.shift();
}

function drawChart() {
  const canvas = $('chart');
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const styles = getComputedStyle(document.documentElement);
  const color = (name) => styles.getPropertyValue(`--${name}`).trim();
  const left = 30;
  const bottom = height - 18;
  const now = Date.now();
  // Up to two minutes; less while the page is young, so that a fresh page shows something.
  const span = Math.min(CHART_WINDOW_MS, Math.max(MIN_CHART_WINDOW_MS, now - state.startedAt));
  const current = counts();
  const peak = Math.max(4, current.connecting + current.inUse + current.idle, ...state.samples.map((s) => s.connecting + s.inUse + s.idle));
  // Whole-number grid lines: a step of 1, 2, 5, 10, 20, ... that gives at most 5 of them.
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((candidate) => peak / candidate <= 5) ?? 1000;
  const top = Math.ceil((peak + 0.5) / step) * step;
  const x = (t) => left + ((t - (now - span)) / span) * (width - left - 4);
  const y = (value) => bottom - (value / top) * (bottom - 8);

  context.font = `11px ${color('mono')}`;
  context.fillStyle = color('muted');
  context.strokeStyle = color('border');
  context.lineWidth = 1;
  for (let value = 0; value <= top; value += step) {
    context.beginPath();
    context.moveTo(left, y(value) + 0.5);
    context.lineTo(width - 4, y(value) + 0.5);
    context.stroke();
    context.fillText(String(value), 4, y(value) + 4);
  }
  const labelEvery = span / 4;
  for (let ms = 0; ms <= span; ms += labelEvery) context.fillText(ms === 0 ? 'now' : `-${Math.round(ms / 1000)}s`, x(now - ms) - 14, height - 4);

  // Stacked areas, bottom to top: in use, idle, connecting.
  const layers = [
    ['inUse', (s) => s.inUse],
    ['idle', (s) => s.inUse + s.idle],
    ['connecting', (s) => s.inUse + s.idle + s.connecting],
  ];
  // The sampled past, then the state now at the right edge.
  const samples = [...state.samples, { t: now, ...counts() }];
  if (samples.length > 1) {
    for (let index = layers.length - 1; index >= 0; index--) {
      const [name, upper] = layers[index];
      const lower = index === 0 ? () => 0 : layers[index - 1][1];
      context.beginPath();
      samples.forEach((s, i) => (i === 0 ? context.moveTo(x(s.t), y(upper(s))) : context.lineTo(x(s.t), y(upper(s)))));
      for (let i = samples.length - 1; i >= 0; i--) context.lineTo(x(samples[i].t), y(lower(samples[i])));
      context.closePath();
      context.fillStyle = color(name);
      context.globalAlpha = 0.75;
      context.fill();
      context.globalAlpha = 1;
    }
  }
  context.strokeStyle = color('tick');
  context.setLineDash([3, 3]);
  for (const at of state.tickMarks) {
    context.beginPath();
    context.moveTo(x(at) + 0.5, 8);
    context.lineTo(x(at) + 0.5, bottom);
    context.stroke();
  }
  context.setLineDash([]);
}

// ---- traffic and admin ----------------------------------------------------------------

function renderPresets(examples) {
  const container = $('traffic-presets');
  container.textContent = '';
  const presets = [...examples.map((path) => ({ path, count: 1, parallel: 1 }))];
  if (examples.some((path) => path.startsWith('/delay/'))) presets.push({ path: '/delay/1500', count: 5, parallel: 5 });
  if (examples.includes('/echo')) presets.push({ path: '/echo', count: 20, parallel: 2 });
  for (const preset of presets) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `${preset.count > 1 ? `${preset.count}× ` : ''}${preset.path}${preset.parallel > 1 ? ` ∥${preset.parallel}` : ''}`;
    button.addEventListener('click', () => sendTraffic(preset.path, preset.count, preset.parallel));
    container.append(button);
  }
  $('traffic-path').value = examples[0] ?? '/';
}

async function sendTraffic(path, count, parallel) {
  const started = performance.now();
  const statuses = new Map();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      let status = 'network error';
      try {
        const response = await fetch(`/proxy${path.startsWith('/') ? path : `/${path}`}`, { cache: 'no-store' });
        await response.arrayBuffer();
        status = String(response.status);
      } catch {
        // Counted under "network error".
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  $('traffic-result').textContent = `sending ${count} request(s) to /proxy${path}…`;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  const summary = [...statuses].map(([status, n]) => `${n} × ${status}`).join(', ');
  $('traffic-result').textContent = `${count} request(s) to /proxy${path}: ${summary} in ${formatMs(performance.now() - started)}`;
}

async function evictOnServer(id) {
  const token = $('admin-token').value.trim();
  const response = await fetch(`/pool/connections/${encodeURIComponent(id)}`, { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await response.json().catch(() => ({}));
  $('traffic-result').textContent = response.ok ? `evicted ${id}${body.closesWhenReleased ? ' (closes when its request ends)' : ''}` : `evict ${id}: ${response.status} ${body.message ?? ''}`;
}

// ---- streams --------------------------------------------------------------------------

function openStreams() {
  const events = new EventSource(state.streams.events);
  const types = new Set([...state.eventTypes, 'dropped']);
  for (const type of types) {
    events.addEventListener(type, (message) => {
      const data = JSON.parse(message.data);
      onPoolEvent(type === 'dropped' ? { type, ...data } : data);
    });
  }
  const ticks = new EventSource(state.streams.cleanupTicks);
  ticks.addEventListener('cleanup-tick', (message) => onTick(JSON.parse(message.data)));
  for (const source of [events, ticks]) {
    let open = false;
    source.addEventListener('open', () => {
      if (!open) state.liveStreams++;
      open = true;
      renderStatus();
      // Whatever happened while the stream was down is in the snapshot.
      loadSnapshot(false).catch((error) => console.warn(error));
    });
    source.addEventListener('error', () => {
      if (open) state.liveStreams--;
      open = false;
      renderStatus();
    });
  }
}

function renderStatus() {
  const element = $('connection-status');
  const live = state.liveStreams === 2;
  element.dataset.connected = String(live);
  element.textContent = live ? 'live' : 'reconnecting';
}

// ---- helpers --------------------------------------------------------------------------

function serverNow() {
  return Date.now() + state.clockOffset;
}

function formatMs(ms) {
  if (ms === null || ms === undefined) return '∞';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function formatTime(at) {
  const date = new Date(at - state.clockOffset);
  return `${date.toLocaleTimeString([], { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

// ---- start ----------------------------------------------------------------------------

async function start() {
  $('log-filters').addEventListener('change', refilter);
  $('log-search').addEventListener('input', refilter);
  $('log-clear').addEventListener('click', () => {
    $('log-body').textContent = '';
  });
  $('traffic-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const count = Math.max(1, Math.min(200, Number($('traffic-count').value) || 1));
    const parallel = Math.max(1, Math.min(50, Number($('traffic-parallel').value) || 1));
    sendTraffic($('traffic-path').value.trim() || '/', count, parallel);
  });
  await loadSnapshot(true);
  openStreams();
  window.setInterval(sample, SAMPLE_EVERY_MS);
  window.setInterval(() => {
    for (const connection of state.connections.values()) renderTileMeta(connection);
    renderNextTick();
  }, 200);
  window.setInterval(() => loadSnapshot(false).catch((error) => console.warn(error)), RESYNC_EVERY_MS);
  const frame = () => {
    drawChart();
    window.setTimeout(() => requestAnimationFrame(frame), 250);
  };
  sample();
  frame();
}

start().catch((error) => {
  $('connection-status').textContent = 'error';
  $('traffic-result').textContent = `The dashboard could not start: ${error.message}`;
});
