// The live page: keeps the client table, the counts, the groups and the change feed in step with
// the server-sent events of /heartbeat/events, and opens one client's history, log and run times
// on demand. Data from the server reaches the page only through textContent and attributes,
// never as HTML.
//
// Scale: the page must stay usable at 100,000 clients. The clients live in a Map, not in the
// DOM: the table is virtualised (only the rows in view, plus a few, exist as <tr>), counts are
// kept incrementally, and the filtered, sorted list is rebuilt at most once per frame, only when
// something it depends on changed. A beat digest that moves no state and no sort key only
// repaints the rows in view.
//
// Time: "last seen" must not depend on this computer's clock, which may be wrong by minutes.
// Every event carries server_time, the server's wall clock when it sent the event, and every
// client its last_beat on that same clock. When an event arrives we note performance.now()
// (the browser's monotonic clock, immune to clock changes); the server's time is then
// server_time + (performance.now() - arrival). Date.now() is never read: the only error left
// is the network delay of the last event, far below the one-second resolution shown.
//
// A server started with --read-token answers the stream with 401. The page then asks for the
// token once, keeps it in sessionStorage (this tab only) and sends it as ?token= (EventSource
// cannot send headers) or as Authorization (fetch). Without a token set, nothing of it shows.
//
// Fields newer servers send (paused, held, running, runs, last_duration_ms, exit_code,
// log_bytes, and the history and log of one client) are optional here: an older server simply
// leaves their columns and sections empty.
'use strict';

(() => {
  const kEventsUrl = '/heartbeat/events';
  const kTickMs = 1000;
  // After a fatal close (an HTTP error instead of a stream); EventSource retries by itself
  // after network errors, with the server's retry: delay and Last-Event-ID.
  const kReopenDelaysMs = [2000, 5000, 10000, 30000];
  const kActivityLimit = 20;
  const kTokenKey = 'pulse.readToken';
  const kStates = ['up', 'late', 'failing', 'down', 'paused'];
  const kStateLabels = { up: 'Up', late: 'Late', failing: 'Failing', down: 'Down', paused: 'Paused' };
  // Sorting by state puts what needs someone first.
  const kStateRank = { down: 0, failing: 1, late: 2, paused: 3, up: 4 };
  const kOverscanRows = 10;        // rows drawn above and below the visible ones
  const kDefaultRowHeightPx = 49;  // until a real row has been measured
  const kMaxGroups = 16;           // prefix groups shown; the rest are one "more" note
  const kGroupsRefreshMs = 1000;   // groups are recounted at most this often
  const kSearchDelayMs = 120;      // typing pauses this long before the list is filtered
  const kDetailRefetchMs = 400;    // a change to the open client refetches its history after this
  // Which way each sort starts: ids A to Z; the rest with what needs attention (or is most
  // recent, or longest) first.
  const kSortStart = { id: 1, state: 1, last: -1, duration: -1 };

  const $ = (id) => document.getElementById(id);
  const body = $('clients-body');
  const table = $('clients-table');
  const wrap = $('clients-wrap');

  // ---- The server's clock, as seen from here ----

  const serverClock = {
    anchorMs: null,  // server wall time (ms since the epoch) at anchoredAt
    anchoredAt: 0,   // performance.now() when the anchor arrived

    update(serverTime) {
      const ms = Date.parse(serverTime);
      if (Number.isNaN(ms)) return;
      this.anchorMs = ms;
      this.anchoredAt = performance.now();
    },

    now() {
      return this.anchorMs === null ? null : this.anchorMs + (performance.now() - this.anchoredAt);
    },
  };

  // ---- Formatting ----

  function formatSeconds(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return s % 60 === 0 || m >= 10 ? `${m} min` : `${m} min ${s % 60} s`;
    const h = Math.floor(m / 60);
    if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
    const d = Math.floor(h / 24);
    return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
  }

  // A run's duration: milliseconds matter for short jobs, not for long ones.
  function formatDuration(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    return formatSeconds(ms / 1000);
  }

  // Both in milliseconds of the server's wall clock.
  function formatAgo(thenMs, nowMs) {
    if (nowMs === null || Number.isNaN(thenMs)) return '–';
    const seconds = (nowMs - thenMs) / 1000;
    return seconds < 1 ? 'just now' : `${formatSeconds(seconds)} ago`;
  }

  // A server time shown in this computer's time zone (the zone, not the clock, is local).
  function formatClockTime(serverTime) {
    const ms = Date.parse(serverTime);
    return Number.isNaN(ms) ? '' : new Date(ms).toLocaleTimeString();
  }

  function formatDateTime(serverTime) {
    const ms = Date.parse(serverTime);
    return Number.isNaN(ms) ? '' : new Date(ms).toLocaleString();
  }

  const formatCount = (n) => Number(n).toLocaleString();

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function stateBadge(state) {
    const badge = element('span', 'state');
    badge.append(element('span', 'state-mark'), element('span', 'state-text'));
    badge.firstChild.setAttribute('aria-hidden', 'true');
    setBadge(badge, state);
    return badge;
  }

  function setBadge(badge, state) {
    const known = Object.hasOwn(kStateLabels, state);
    if (badge.dataset.state !== (known ? state : 'unknown')) badge.dataset.state = known ? state : 'unknown';
    setText(badge.lastChild, known ? kStateLabels[state] : String(state));
  }

  // ---- The clients, and their counts per state ----

  const clients = new Map();  // id -> { data, lastBeatMs, row }; row: its <tr> while in view
  const counts = { up: 0, late: 0, failing: 0, down: 0, paused: 0 };

  function countState(state, delta) {
    if (Object.hasOwn(counts, state)) counts[state] += delta;
  }

  // Adds or updates a client; returns its state before (undefined for a new one).
  function upsert(client) {
    let record = clients.get(client.id);
    const previous = record ? record.data.state : undefined;
    if (record) {
      countState(previous, -1);
    } else {
      record = { data: null, lastBeatMs: NaN, row: null };
      clients.set(client.id, record);
    }
    record.data = client;
    record.lastBeatMs = Date.parse(client.last_beat);
    countState(client.state, 1);
    return previous;
  }

  function remove(id) {
    const record = clients.get(id);
    if (!record) return false;
    countState(record.data.state, -1);
    clients.delete(id);
    return true;
  }

  // ---- What is shown: filters, sort, and the list they make ----

  const view = {
    search: '',          // lower case; a substring of the id
    prefix: '',          // the start of the id (?prefix= in the page's address)
    states: new Set(),   // the states shown; empty: every state
    sortKey: 'id',
    sortDir: 1,
    records: [],         // the matching clients, in display order
    dirty: true,         // `records` must be rebuilt before the next paint
    groupsDirty: true,
  };

  function matches(record) {
    const { id, state } = record.data;
    if (view.prefix && !id.startsWith(view.prefix)) return false;
    if (view.states.size > 0 && !view.states.has(state)) return false;
    return !view.search || id.toLowerCase().includes(view.search);
  }

  const byId = (a, b) => (a.data.id < b.data.id ? -1 : a.data.id > b.data.id ? 1 : 0);
  const kSortKeys = {
    id: () => 0,
    state: (r) => kStateRank[r.data.state] ?? 9,
    last: (r) => (Number.isNaN(r.lastBeatMs) ? 0 : r.lastBeatMs),
    duration: (r) => (typeof r.data.last_duration_ms === 'number' ? r.data.last_duration_ms : -1),
  };

  function rebuildView() {
    const records = [];
    for (const record of clients.values()) {
      if (matches(record)) records.push(record);
    }
    const key = kSortKeys[view.sortKey];
    const dir = view.sortDir;
    if (view.sortKey === 'id') {
      records.sort((a, b) => dir * byId(a, b));
    } else {
      records.sort((a, b) => dir * (key(a) - key(b)) || byId(a, b));
    }
    view.records = records;
    view.dirty = false;
  }

  // Something that filters or sorts depend on changed.
  function invalidate({ groups = true } = {}) {
    view.dirty = true;
    if (groups) view.groupsDirty = true;
    schedulePaint();
  }

  // ---- Prefix groups: ids grouped by the part up to the next '-' after the current prefix ----

  let groupsPaintedAt = -Infinity;
  let groupsTimer = 0;

  function groupKey(id, prefix) {
    const dash = id.indexOf('-', prefix.length);
    return dash < 0 ? null : id.slice(0, dash + 1);
  }

  function paintGroups() {
    const since = performance.now() - groupsPaintedAt;
    if (since < kGroupsRefreshMs) {
      if (!groupsTimer) {
        groupsTimer = setTimeout(() => {
          groupsTimer = 0;
          schedulePaint();
        }, kGroupsRefreshMs - since);
      }
      return;
    }
    groupsPaintedAt = performance.now();
    view.groupsDirty = false;
    const groups = new Map();  // key -> { total, bad: { state: n } }
    let ungrouped = 0;
    for (const { data } of clients.values()) {
      if (view.prefix && !data.id.startsWith(view.prefix)) continue;
      const key = groupKey(data.id, view.prefix);
      if (key === null) {
        ungrouped += 1;
        continue;
      }
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { total: 0, worst: 'up', worstCount: 0 }));
      group.total += 1;
      const rank = kStateRank[data.state] ?? 9;
      if (rank < kStateRank[group.worst]) {
        group.worst = data.state;
        group.worstCount = 1;
      } else if (data.state === group.worst) {
        group.worstCount += 1;
      }
    }
    const container = $('groups');
    const fragment = document.createDocumentFragment();
    if (view.prefix) {
      const up = element('button', 'group group-up', '');
      up.type = 'button';
      const parent = parentPrefix(view.prefix);
      up.dataset.prefix = parent;
      up.append(element('span', 'group-name', parent ? `↑ ${parent}` : '↑ all clients'));
      fragment.append(up);
    }
    // Only worth showing when it splits the clients into more than one group.
    if (groups.size > 1 || (groups.size === 1 && ungrouped > 0)) {
      const sorted = [...groups].sort((a, b) => b[1].total - a[1].total || (a[0] < b[0] ? -1 : 1));
      for (const [key, group] of sorted.slice(0, kMaxGroups)) {
        const button = element('button', 'group');
        button.type = 'button';
        button.dataset.prefix = key;
        button.dataset.state = group.worst;
        const mark = element('span', 'state-mark');
        mark.setAttribute('aria-hidden', 'true');
        button.append(mark, element('span', 'group-name', key), element('span', 'group-count', formatCount(group.total)));
        if (group.worst !== 'up') {
          button.append(element('span', 'group-bad', `${formatCount(group.worstCount)} ${group.worst}`));
        }
        button.title = `Show only ids starting with ${key}`;
        fragment.append(button);
      }
      if (sorted.length > kMaxGroups) {
        fragment.append(element('span', 'group-more', `and ${formatCount(sorted.length - kMaxGroups)} more groups`));
      }
    }
    container.replaceChildren(fragment);
  }

  // "web-eu-" -> "web-"; "web-" -> "".
  function parentPrefix(prefix) {
    const trimmed = prefix.endsWith('-') ? prefix.slice(0, -1) : prefix;
    const dash = trimmed.lastIndexOf('-');
    return dash < 0 ? '' : trimmed.slice(0, dash + 1);
  }

  // ---- The virtualised table ----

  let rowHeight = kDefaultRowHeightPx;
  let rowHeightMeasured = false;
  const topSpacer = spacerRow('spacer-top');
  const bottomSpacer = spacerRow('spacer-bottom');
  const freeRows = [];  // <tr> elements out of view, ready for another client
  let activeId = null;  // the row that takes the keyboard focus (roving tabindex)

  function spacerRow(className) {
    const row = element('tr', `spacer ${className}`);
    row.setAttribute('aria-hidden', 'true');
    const cell = element('td');
    cell.colSpan = 7;
    row.append(cell);
    return row;
  }

  function createRow() {
    const row = element('tr');
    row.dataset.id = '';  // first, so it comes first in the markup (tests find rows by it)
    row.tabIndex = -1;
    const idCell = element('th');
    idCell.scope = 'row';
    idCell.append(element('span', 'client-id'), element('span', 'client-addr'));
    const stateCell = element('td', 'state-cell');
    stateCell.append(stateBadge('up'));
    const seenCell = element('td', 'seen');
    seenCell.append(element('time'));
    const cells = {
      id: idCell.firstChild,
      addr: idCell.lastChild,
      badge: stateCell.firstChild,
      seen: seenCell.firstChild,
      interval: element('td', 'num'),
      duration: element('td', 'num duration'),
      beats: element('td', 'num'),
      msg: element('td', 'msg'),
    };
    row.append(idCell, stateCell, seenCell, cells.interval, cells.duration, cells.beats, cells.msg);
    row.pulseCells = cells;
    return row;
  }

  function durationText(c) {
    const last = formatDuration(c.last_duration_ms);
    if (c.running) return last ? `running · ${last}` : 'running';
    return last;
  }

  function renderRow(row, record, index, tabbable) {
    const c = record.data;
    const cells = row.pulseCells;
    if (row.dataset.id !== c.id) {
      row.dataset.id = c.id;
      row.classList.remove('changed');
      setText(cells.id, c.id);
    }
    if (row.dataset.state !== c.state) row.dataset.state = c.state;
    row.setAttribute('aria-rowindex', String(index + 2));  // 1 is the header row
    const tabIndex = c.id === tabbable ? 0 : -1;
    if (row.tabIndex !== tabIndex) row.tabIndex = tabIndex;
    setBadge(cells.badge, c.state);
    setText(cells.addr, c.remote_addr ? `from ${c.remote_addr}` : '');
    if (cells.seen.dateTime !== c.last_beat) {
      cells.seen.dateTime = c.last_beat;
      cells.seen.title = `last beat ${c.last_beat} (server time, UTC)`;
    }
    setText(cells.seen, formatAgo(record.lastBeatMs, serverClock.now()));
    setText(cells.interval, formatSeconds(c.interval));
    cells.interval.title = `the next beat is due within ${formatSeconds(c.interval)}; down ${formatSeconds(c.grace)} after that`;
    setText(cells.duration, durationText(c));
    setText(cells.beats, formatCount(c.beats));
    setText(cells.msg, c.msg || '');
    cells.msg.title = c.msg || '';
  }

  // Draws the rows in view. Rows stay bound to their client while in view, so a focused row
  // keeps its focus and a flashing one its animation as the list moves around them.
  function paintRows() {
    const records = view.records;
    const total = records.length;
    const headerHeight = table.tHead ? table.tHead.offsetHeight : 0;
    const scrolled = Math.max(0, wrap.scrollTop - headerHeight);
    const height = wrap.clientHeight || window.innerHeight;
    const first = Math.max(0, Math.floor(scrolled / rowHeight) - kOverscanRows);
    const last = Math.min(total, Math.ceil((scrolled + height) / rowHeight) + kOverscanRows);

    const focused = document.activeElement;
    const refocus = focused && focused.parentNode === body ? focused.dataset.id : null;
    const keep = new Set();
    for (let i = first; i < last; i += 1) keep.add(records[i]);
    // Roving tabindex: one row is in the tab order, the last one used if it is in view.
    const tabbable = activeId !== null && keep.has(clients.get(activeId)) ? activeId : (records[first] || { data: {} }).data.id;
    for (const row of [...body.rows]) {
      if (!row.pulseRecord) continue;  // a spacer
      if (!keep.has(row.pulseRecord) || clients.get(row.pulseRecord.data.id) !== row.pulseRecord) {
        row.pulseRecord.row = null;
        row.pulseRecord = null;
        row.remove();
        freeRows.push(row);
      }
    }

    let cursor = topSpacer;
    if (body.firstChild !== topSpacer) body.prepend(topSpacer);
    for (let i = first; i < last; i += 1) {
      const record = records[i];
      let row = record.row;
      if (!row) {
        row = freeRows.pop() || createRow();
        row.pulseRecord = record;
        record.row = row;
      }
      renderRow(row, record, i, tabbable);
      if (cursor.nextSibling !== row) cursor.after(row);
      cursor = row;
    }
    if (cursor.nextSibling !== bottomSpacer) cursor.after(bottomSpacer);
    topSpacer.firstChild.style.height = `${first * rowHeight}px`;
    bottomSpacer.firstChild.style.height = `${(total - last) * rowHeight}px`;
    topSpacer.hidden = first === 0;
    bottomSpacer.hidden = last === total;
    table.setAttribute('aria-rowcount', String(total + 1));

    if (!rowHeightMeasured && last > first) {
      const measured = records[first].row.getBoundingClientRect().height;
      if (measured > 0) {
        rowHeightMeasured = true;
        if (Math.abs(measured - rowHeight) > 0.5) {
          rowHeight = measured;
          schedulePaint();
        }
      }
    }
    if (refocus && document.activeElement !== focused) {
      const record = clients.get(refocus);
      if (record && record.row) record.row.focus({ preventScroll: true });
    }
  }

  function showCount(node, count) {
    node.dataset.count = String(count);
    setText(node, formatCount(count));
  }

  function paintSummary() {
    const total = clients.size;
    showCount($('count-online'), counts.up + counts.late + counts.failing);
    showCount($('count-offline'), counts.down);
    showCount($('count-total'), total);
    for (const state of kStates) showCount($(`count-${state}`), counts[state]);
    $('clients-empty').hidden = total > 0;
    wrap.hidden = total === 0;
    const shown = view.records.length;
    const filtered = view.search || view.prefix || view.states.size > 0;
    const text = !filtered
      ? `Showing all ${formatCount(total)} clients`
      : shown === 0
        ? `No client of ${formatCount(total)} matches these filters`
        : `${formatCount(shown)} of ${formatCount(total)} clients match`;
    const shownText = $('shown-text');
    shownText.dataset.count = String(shown);
    setText(shownText, text);
    $('clear-filters').hidden = !filtered;
  }

  // ---- Painting: at most once per frame ----

  let paintPending = false;

  function schedulePaint() {
    if (paintPending) return;
    paintPending = true;
    requestAnimationFrame(paint);
    // Frames stop in a hidden tab; the timer keeps counts and rows current there too.
    setTimeout(paint, 250);
  }

  function paint() {
    if (!paintPending) return;
    paintPending = false;
    if (view.dirty) rebuildView();
    paintRows();
    paintFlashes();
    paintSummary();
    if (view.groupsDirty) paintGroups();
  }

  // Rows whose state changed since the last paint: they flash if they are in view then. Never
  // painted on the spot, as a burst of changes (a thousand clients late at once) would repaint
  // the whole list once per event.
  const flashQueue = new Set();

  function flash(record) {
    flashQueue.add(record);
    schedulePaint();
  }

  function paintFlashes() {
    for (const record of flashQueue) {
      const row = record.row;
      if (!row) continue;
      row.classList.remove('changed');
      void row.offsetWidth;  // restarts the animation when the row changes twice in a row
      row.classList.add('changed');
    }
    flashQueue.clear();
  }

  function tick() {
    const now = serverClock.now();
    for (const row of body.rows) {
      if (row.pulseRecord) setText(row.pulseCells.seen, formatAgo(row.pulseRecord.lastBeatMs, now));
    }
    connectionTick();
    detail.tick();
  }

  // ---- Filters and sorting, from the toolbar ----

  function setPrefix(prefix, { fromInput = false } = {}) {
    view.prefix = prefix;
    if (!fromInput) $('prefix').value = prefix;
    const url = new URL(location.href);
    if (prefix) url.searchParams.set('prefix', prefix);
    else url.searchParams.delete('prefix');
    history.replaceState(null, '', url);
    wrap.scrollTop = 0;
    invalidate();
  }

  function setSort(key) {
    if (view.sortKey === key) {
      view.sortDir = -view.sortDir;
    } else {
      view.sortKey = key;
      view.sortDir = kSortStart[key];
    }
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      if (th.dataset.sort === view.sortKey) {
        th.setAttribute('aria-sort', view.sortDir > 0 ? 'ascending' : 'descending');
      } else {
        th.removeAttribute('aria-sort');
      }
    }
    invalidate({ groups: false });
  }

  function setupControls() {
    let searchTimer = 0;
    $('search').addEventListener('input', (event) => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        view.search = event.target.value.trim().toLowerCase();
        wrap.scrollTop = 0;
        invalidate({ groups: false });
      }, kSearchDelayMs);
    });
    $('prefix').addEventListener('input', (event) => setPrefix(event.target.value.trim(), { fromInput: true }));
    for (const button of document.querySelectorAll('button.state-count')) {
      button.addEventListener('click', () => {
        const state = button.dataset.state;
        if (view.states.has(state)) view.states.delete(state);
        else view.states.add(state);
        button.setAttribute('aria-pressed', String(view.states.has(state)));
        wrap.scrollTop = 0;
        invalidate({ groups: false });
      });
    }
    $('groups').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-prefix]');
      if (button) setPrefix(button.dataset.prefix);
    });
    $('clear-filters').addEventListener('click', () => {
      $('search').value = '';
      view.search = '';
      view.states.clear();
      for (const button of document.querySelectorAll('button.state-count')) button.setAttribute('aria-pressed', 'false');
      setPrefix('');
    });
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => setSort(th.dataset.sort));
    }
    wrap.addEventListener('scroll', () => schedulePaint(), { passive: true });
    window.addEventListener('resize', () => schedulePaint());

    // Rows: click or Enter opens the client; arrows, Page Up/Down, Home and End move between them.
    body.addEventListener('click', (event) => {
      const row = event.target.closest('tr[data-id]');
      if (row && row.pulseRecord) openClient(row.dataset.id);
    });
    body.addEventListener('keydown', onRowKey);
    body.addEventListener('focusin', (event) => {
      const row = event.target.closest('tr[data-id]');
      if (row && row.pulseRecord) activeId = row.dataset.id;
    });

    const initial = new URL(location.href).searchParams.get('prefix');
    if (initial) {
      view.prefix = initial;
      $('prefix').value = initial;
    }
  }

  function onRowKey(event) {
    const row = event.target.closest('tr[data-id]');
    if (!row || !row.pulseRecord) return;
    const index = view.records.indexOf(row.pulseRecord);
    const page = Math.max(1, Math.floor(wrap.clientHeight / rowHeight) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    let target;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      openClient(row.dataset.id);
      return;
    } else if (Object.hasOwn(moves, event.key)) {
      target = index + moves[event.key];
    } else if (event.key === 'Home') {
      target = 0;
    } else if (event.key === 'End') {
      target = view.records.length - 1;
    } else {
      return;
    }
    event.preventDefault();
    focusRow(Math.max(0, Math.min(view.records.length - 1, target)));
  }

  // Scrolls row `index` into view, draws it, and gives it the focus.
  function focusRow(index) {
    const record = view.records[index];
    if (!record) return;
    activeId = record.data.id;
    const headerHeight = table.tHead.offsetHeight;
    const top = headerHeight + index * rowHeight;
    if (top < wrap.scrollTop + headerHeight) wrap.scrollTop = top - headerHeight;
    else if (top + rowHeight > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = top + rowHeight - wrap.clientHeight;
    paintPending = true;
    paint();
    if (record.row) record.row.focus({ preventScroll: true });
  }

  // ---- One client: its fields, history, run times and last log (a modal dialog) ----

  function authHeaders() {
    const token = readToken.get();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: 'no-store', headers: authHeaders() });
    if (!response.ok) return { status: response.status, json: null };
    return { status: response.status, json: await response.json() };
  }

  const detail = {
    id: null,
    client: null,    // the client as last fetched or streamed
    history: null,   // entries, oldest first; null: this server keeps none; undefined: loading
    log: undefined,  // the last log (null: none); undefined: this server does not send logs
    serverTime: null,
    refetchTimer: 0,
    generation: 0,   // drops answers for a client that is no longer the one shown

    tick() {
      if (this.id && this.client) renderDetailFields(this.client);
    },
  };

  function openClient(id) {
    const dialog = $('detail');
    activeId = id;
    detail.id = id;
    detail.client = clients.has(id) ? clients.get(id).data : null;
    detail.history = undefined;
    detail.log = undefined;
    setText($('detail-id'), id);
    setText($('detail-status'), 'Loading…');
    if (detail.client) renderDetailFields(detail.client);
    renderHistory();
    renderLog();
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    fetchDetail();
  }

  async function fetchDetail() {
    const id = detail.id;
    const generation = (detail.generation += 1);
    const path = `/heartbeat/${encodeURIComponent(id)}`;
    let show;
    let history;
    try {
      [show, history] = await Promise.all([getJson(path), getJson(`${path}/history`)]);
    } catch {
      if (generation === detail.generation) setText($('detail-status'), 'Could not reach the server; try again.');
      return;
    }
    if (generation !== detail.generation) return;
    if (show.status === 404) {
      setText($('detail-status'), 'This client is gone: it signed off or was forgotten.');
      return;
    }
    if (show.json) {
      detail.client = show.json;
      serverClock.update(show.json.server_time);
      detail.log = Object.hasOwn(show.json, 'log') ? show.json.log : undefined;
    }
    if (history.json && Array.isArray(history.json.history)) detail.history = history.json.history;
    else if (show.json && Array.isArray(show.json.history)) detail.history = show.json.history;
    else detail.history = null;
    setText($('detail-status'), '');
    if (detail.client) renderDetailFields(detail.client);
    renderHistory();
    renderLog();
  }

  // Events about the open client update it at once, and fetch its history again shortly after.
  function onDetailEvent(client, changed) {
    if (detail.id !== client.id || !$('detail').open) return;
    detail.client = { ...detail.client, ...client };
    renderDetailFields(detail.client);
    if (!changed) return;
    clearTimeout(detail.refetchTimer);
    detail.refetchTimer = setTimeout(fetchDetail, kDetailRefetchMs);
  }

  function renderDetailFields(c) {
    setBadge($('detail-state'), c.state);
    const now = serverClock.now();
    const rows = [];
    const add = (name, value, title) => {
      if (value !== '' && value !== undefined && value !== null) rows.push([name, String(value), title]);
    };
    const lastBeatMs = Date.parse(c.last_beat);
    add('Last beat', `${formatAgo(lastBeatMs, now)} · ${formatClockTime(c.last_beat)}`, formatDateTime(c.last_beat));
    if (c.state !== 'paused' && c.state !== 'down') {
      const dueMs = Date.parse(c.next_due);
      if (!Number.isNaN(dueMs) && now !== null) {
        add('Next beat due', dueMs > now ? `in ${formatSeconds((dueMs - now) / 1000)}` : `${formatSeconds((now - dueMs) / 1000)} overdue`, c.next_due);
      }
    }
    add('Interval', `${formatSeconds(c.interval)}, then ${formatSeconds(c.grace)} of grace`);
    add('Reported status', c.status);
    add('Message', c.msg);
    if (typeof c.exit_code === 'number') add('Last exit status', c.exit_code);
    if (typeof c.last_duration_ms === 'number') add('Last run took', formatDuration(c.last_duration_ms));
    if (Array.isArray(c.runs) && c.runs.length > 0) {
      const runs = c.runs.map((run) => {
        const started = Date.parse(run.started);
        const name = run.rid ? `${run.rid}: ` : '';
        return `${name}started ${formatAgo(started, now)}`;
      });
      add(c.runs.length === 1 ? 'Running' : `Running (${c.runs.length})`, runs.join('; '));
    } else if (c.running) {
      add('Running', 'yes');
    }
    if (c.paused) add('Paused', 'until its next beat');
    if (c.held) add('Held', 'a connection keeps it up (GET /heartbeat/{id}/hold)');
    add('Beats', formatCount(c.beats));
    add('From', c.remote_addr);
    if (typeof c.log_bytes === 'number') add('Last log', c.log_bytes ? `${formatCount(c.log_bytes)} bytes` : 'none');

    const list = $('detail-fields');
    const fragment = document.createDocumentFragment();
    for (const [name, value, title] of rows) {
      const dd = element('dd', '', value);
      if (title) dd.title = title;
      fragment.append(element('dt', '', name), dd);
    }
    list.replaceChildren(fragment);
  }

  function renderHistory() {
    const strip = $('detail-strip');
    const list = $('detail-history');
    const trend = $('detail-trend');
    strip.replaceChildren();
    list.replaceChildren();
    trend.replaceChildren();
    const entries = detail.history;
    if (entries === undefined) return;  // still loading
    if (entries === null) {
      list.append(element('li', 'note', 'This server keeps no history (it is older than the history endpoint).'));
      trend.append(element('p', 'note', 'No run times recorded.'));
      return;
    }
    const changes = entries.filter((e) => e.kind === 'change');
    const runs = entries.filter((e) => e.kind === 'run' && typeof e.duration_ms === 'number');

    // The strip: one segment per state, as wide as the time spent in it, up to now.
    const nowMs = serverClock.now();
    if (changes.length > 0 && nowMs !== null) {
      const bar = element('div', 'strip-bar');
      strip.append(bar);
      const times = changes.map((e) => Date.parse(e.at));
      const start = times[0];
      const span = Math.max(1, nowMs - start);
      changes.forEach((entry, i) => {
        const until = i + 1 < changes.length ? times[i + 1] : nowMs;
        const segment = element('span', 'strip-segment');
        segment.dataset.state = entry.to;
        segment.style.flexGrow = String(Math.max(0, until - times[i]) / span);
        segment.title = `${entry.to} from ${formatClockTime(entry.at)} for ${formatSeconds((until - times[i]) / 1000)}`;
        bar.append(segment);
      });
      const ends = element('span', 'strip-ends');
      ends.append(element('span', '', formatClockTime(changes[0].at)), element('span', '', 'now'));
      strip.append(ends);
    }

    // The list, newest first: what a screen reader reads, and the exact times.
    if (entries.length === 0) list.append(element('li', 'note', 'Nothing recorded yet.'));
    for (const entry of [...entries].reverse()) {
      const item = element('li', 'history-item');
      const time = element('time', 'history-time', formatClockTime(entry.at));
      time.dateTime = entry.at;
      time.title = formatDateTime(entry.at);
      item.append(time, ' ');
      if (entry.kind === 'change') {
        item.dataset.state = entry.to;
        item.append(entry.from ? `${entry.from} → ` : 'joined, ', stateBadge(entry.to));
      } else if (entry.kind === 'run') {
        item.dataset.state = entry.result === 'fail' ? 'failing' : 'up';
        const exit = typeof entry.exit_code === 'number' ? ` (exit ${entry.exit_code})` : '';
        item.append(`run ${entry.result === 'fail' ? 'failed' : 'ok'} after ${formatDuration(entry.duration_ms)}${exit}`);
      } else {
        item.append(String(entry.kind));
      }
      list.append(item);
    }

    if (runs.length === 0) {
      const last = detail.client && detail.client.last_duration_ms;
      trend.append(element('p', 'note', typeof last === 'number'
        ? `One run recorded: ${formatDuration(last)}.`
        : 'No run times recorded. Jobs report them with /start, then /0 (or /fail).'));
      return;
    }
    trend.append(sparkline(runs), trendSummary(runs));
  }

  const kSvgNs = 'http://www.w3.org/2000/svg';

  function svgElement(tag, attributes) {
    const node = document.createElementNS(kSvgNs, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    return node;
  }

  // Run durations, oldest to newest, as a line: failed runs are marked.
  function sparkline(runs) {
    const width = 220;
    const height = 44;
    const pad = 4;
    const values = runs.map((r) => r.duration_ms);
    const max = Math.max(...values);
    const min = Math.min(...values);
    const range = Math.max(1, max - min);
    const x = (i) => (runs.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (runs.length - 1));
    const y = (v) => height - pad - ((v - min) * (height - 2 * pad)) / range;
    const svg = svgElement('svg', {
      class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': `Run durations, oldest to newest: ${values.map(formatDuration).join(', ')}`,
    });
    const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(svgElement('polyline', { points, class: 'sparkline-line' }));
    runs.forEach((run, i) => {
      const dot = svgElement('circle', {
        cx: x(i).toFixed(1), cy: y(run.duration_ms).toFixed(1), r: run.result === 'fail' ? 3.5 : 2.5,
        class: run.result === 'fail' ? 'sparkline-fail' : 'sparkline-ok',
      });
      const title = svgElement('title', {});
      title.textContent = `${formatDuration(run.duration_ms)}, ${run.result === 'fail' ? 'failed' : 'ok'}, ${formatClockTime(run.at)}`;
      dot.append(title);
      svg.append(dot);
    });
    return svg;
  }

  function trendSummary(runs) {
    const values = runs.map((r) => r.duration_ms);
    const failed = runs.filter((r) => r.result === 'fail').length;
    const text = `last ${formatDuration(values[values.length - 1])} · shortest ${formatDuration(Math.min(...values))}`
      + ` · longest ${formatDuration(Math.max(...values))} · ${runs.length} run${runs.length === 1 ? '' : 's'}`
      + (failed ? `, ${failed} failed` : '');
    return element('p', 'trend-summary', text);
  }

  function renderLog() {
    const pre = $('detail-log');
    if (detail.log === undefined) {
      const bytes = detail.client && detail.client.log_bytes;
      pre.textContent = detail.history === undefined ? '' : bytes ? `${formatCount(bytes)} bytes kept (GET /heartbeat/{id}/log)` : 'No log.';
      pre.dataset.empty = 'true';
      return;
    }
    pre.textContent = detail.log === null || detail.log === '' ? 'No log: send one as the body of a beat.' : detail.log;
    pre.dataset.empty = String(!detail.log);
  }

  function setupDetail() {
    $('detail').addEventListener('close', () => {
      detail.id = null;
      detail.generation += 1;
      clearTimeout(detail.refetchTimer);
      const record = activeId && clients.get(activeId);
      if (record && record.row) record.row.focus({ preventScroll: true });
    });
    // A click on the backdrop (outside the dialog's box) closes it too.
    $('detail').addEventListener('click', (event) => {
      if (event.target !== event.currentTarget) return;
      const box = event.currentTarget.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) event.currentTarget.close();
    });
  }

  // ---- The change feed ----

  function describe(kind, payload) {
    if (kind === 'leave') {
      return payload.reason === 'expired' ? 'was forgotten after being down too long' : 'signed off';
    }
    const state = payload.client.state;
    if (kind === 'join') return `joined, ${state}`;
    return payload.previous ? `is now ${state} (was ${payload.previous})` : `is now ${state}`;
  }

  function addActivity(kind, payload) {
    const id = kind === 'leave' ? payload.id : payload.client.id;
    const item = element('li', 'activity-item');
    item.dataset.kind = kind;
    if (kind !== 'leave') item.dataset.state = payload.client.state;
    const time = element('time', 'activity-time', formatClockTime(payload.server_time));
    time.dateTime = payload.server_time;
    item.append(time, ' ', element('strong', '', id), ` ${describe(kind, payload)}`);
    const list = $('activity');
    list.prepend(item);
    while (list.children.length > kActivityLimit) list.lastElementChild.remove();
    $('activity-empty').hidden = true;
  }

  // ---- Event handlers, one per event name of /heartbeat/events ----

  function onSnapshot(listing) {
    serverClock.update(listing.server_time);
    const seen = new Set();
    for (const client of listing.clients) {
      seen.add(client.id);
      upsert(client);
    }
    for (const id of [...clients.keys()]) {
      if (!seen.has(id)) remove(id);
    }
    table.setAttribute('aria-busy', 'false');
    invalidate();
    paint();  // at once: the table is complete before anything else runs
  }

  function onChange(kind, payload) {
    serverClock.update(payload.server_time);
    const previous = upsert(payload.client);
    const record = clients.get(payload.client.id);
    invalidate();
    if (previous !== payload.client.state) flash(record);
    addActivity(kind, payload);
    onDetailEvent(payload.client, true);
  }

  function onLeave(payload) {
    serverClock.update(payload.server_time);
    if (remove(payload.id)) {
      invalidate();
      addActivity('leave', payload);
    }
    if (detail.id === payload.id && $('detail').open) {
      setText($('detail-status'), payload.reason === 'expired'
        ? 'This client was forgotten after being down too long.'
        : 'This client signed off.');
    }
  }

  // "beats" events keep last_beat, beats and msg fresh between state changes. They only refresh
  // rows: rows come and go with join and leave, which are numbered and arrive in order.
  function onBeats(payload) {
    serverClock.update(payload.server_time);
    const resort = view.sortKey === 'last' || view.sortKey === 'duration';
    let stateChanged = false;
    for (const client of payload.clients) {
      const record = clients.get(client.id);
      if (!record) continue;
      const previous = upsert(client);
      if (previous !== client.state) {
        stateChanged = true;
        flash(record);
      }
      onDetailEvent(client, previous !== client.state);
    }
    // Groups count states only; the list moves when a state or the sort key did.
    if (stateChanged || resort) invalidate({ groups: stateChanged });
    else schedulePaint();
  }

  // ---- The read token, when the server wants one ----

  const readToken = {
    memory: '',  // where the token lives when sessionStorage is unavailable (storage turned off)

    get() {
      try {
        return sessionStorage.getItem(kTokenKey) || '';
      } catch {
        return this.memory;
      }
    },

    set(token) {
      this.memory = token;
      try {
        if (token) sessionStorage.setItem(kTokenKey, token);
        else sessionStorage.removeItem(kTokenKey);
      } catch {
        // storage is off: the token lasts as long as this page
      }
    },
  };

  function eventsUrl() {
    const token = readToken.get();
    return token ? `${kEventsUrl}?token=${encodeURIComponent(token)}` : kEventsUrl;
  }

  // EventSource does not say why a stream failed: a HEAD of the same URL does. True only for a
  // 401; a network error or another status leaves the usual retry to run.
  async function refusedForToken() {
    try {
      const response = await fetch(kEventsUrl, { method: 'HEAD', cache: 'no-store', headers: authHeaders() });
      return response.status === 401;
    } catch {
      return false;
    }
  }

  // Shows the form; `rejected`: the stored token was refused, so it is forgotten.
  function askForToken(rejected) {
    if (rejected) readToken.set('');
    $('token-error').hidden = !rejected;
    $('token-form').hidden = false;
    setConnection('locked', 'Needs the read token');
    $('token-input').focus();
  }

  function onTokenSubmit(event) {
    event.preventDefault();
    const input = $('token-input');
    const token = input.value.trim();
    if (!token) return;
    readToken.set(token);
    input.value = '';
    $('token-form').hidden = true;
    reopenAttempt = 0;
    setConnection('connecting', 'Connecting…');
    connect();
  }

  // ---- The connection ----

  const connection = {
    lostAt: null,  // performance.now() when the stream was lost; null while live
    retries: 0,    // EventSource's own reconnection attempts since then
  };

  function setConnection(state, text, title = '') {
    const indicator = $('connection');
    indicator.title = title;
    if (indicator.dataset.state === state && $('connection-text').textContent === text) return;
    indicator.dataset.state = state;
    document.body.dataset.connection = state;
    $('connection-text').textContent = text;
  }

  // While the stream is down, say for how long, so a stale table is never taken for a live one.
  function connectionTick() {
    if (connection.lostAt === null || $('connection').dataset.state !== 'reconnecting') return;
    const seconds = (performance.now() - connection.lostAt) / 1000;
    const attempt = connection.retries > 1 ? `, attempt ${connection.retries}` : '';
    setConnection('reconnecting', `Reconnecting… (no updates for ${formatSeconds(seconds)}${attempt})`,
      'The browser reconnects on its own after the delay the server asked for, and resumes after the last event it saw.');
  }

  function listen(source, name, handler) {
    source.addEventListener(name, (event) => {
      let payload;
      try {
        payload = JSON.parse(event.data);
      } catch (error) {
        console.warn(`pulse: ignoring a ${name} event that is not JSON`, error);
        return;
      }
      handler(payload);
    });
  }

  let reopenAttempt = 0;

  function connect() {
    if (typeof EventSource === 'undefined') {
      setConnection('offline', 'This browser cannot follow live updates');
      return;
    }
    const source = new EventSource(eventsUrl());
    source.addEventListener('open', () => {
      reopenAttempt = 0;
      connection.lostAt = null;
      connection.retries = 0;
      setConnection('live', 'Live', 'Changes appear here as the server sends them.');
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CONNECTING) {
        if (connection.lostAt === null) connection.lostAt = performance.now();
        connection.retries += 1;
        setConnection('reconnecting', 'Reconnecting…');
        connectionTick();
        return;
      }
      // CLOSED: the server answered with an error (401 without the read token; 503 while busy
      // or shutting down, say), and EventSource gives up on those. A new one starts from a fresh
      // snapshot.
      source.close();
      connection.lostAt = null;
      const hadToken = readToken.get() !== '';
      refusedForToken().then((refused) => {
        if (refused) {
          askForToken(hadToken);
          return;
        }
        const delay = kReopenDelaysMs[Math.min(reopenAttempt, kReopenDelaysMs.length - 1)];
        reopenAttempt += 1;
        setConnection('offline', `Disconnected; trying again in ${Math.round(delay / 1000)} s`);
        setTimeout(connect, delay);
      });
    });
    listen(source, 'snapshot', onSnapshot);
    listen(source, 'join', (payload) => onChange('join', payload));
    listen(source, 'change', (payload) => onChange('change', payload));
    listen(source, 'leave', onLeave);
    listen(source, 'beats', onBeats);
  }

  // ---- The "report in" commands use this server's own address ----

  function personaliseCommands() {
    if (!/^https?:$/.test(location.protocol)) return;
    for (const node of document.querySelectorAll('[data-template]')) {
      node.textContent = node.dataset.template.replaceAll('{origin}', location.origin);
    }
    if (!navigator.clipboard) return;
    for (const button of document.querySelectorAll('button[data-copy]')) {
      button.hidden = false;
      button.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText($(button.dataset.copy).textContent);
          button.textContent = 'Copied';
        } catch {
          button.textContent = 'Copy failed';
        }
        setTimeout(() => { button.textContent = 'Copy'; }, 2000);
      });
    }
  }

  personaliseCommands();
  setupControls();
  setupDetail();
  $('token-form').addEventListener('submit', onTokenSubmit);
  connect();
  setInterval(tick, kTickMs);
})();
