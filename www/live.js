// The live page: keeps the client table, the counts and the change feed in step with the
// server-sent events of /heartbeat/events. Data from the server reaches the page only through
// textContent and attributes, never as HTML.
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
'use strict';

(() => {
  const kEventsUrl = '/heartbeat/events';
  const kTickMs = 1000;
  // After a fatal close (an HTTP error instead of a stream); EventSource retries by itself
  // after network errors, with the server's retry: delay and Last-Event-ID.
  const kReopenDelaysMs = [2000, 5000, 10000, 30000];
  const kActivityLimit = 20;
  const kTokenKey = 'pulse.readToken';
  const kStates = ['up', 'late', 'failing', 'down'];
  const kStateLabels = { up: 'Up', late: 'Late', failing: 'Failing', down: 'Down' };

  const $ = (id) => document.getElementById(id);
  const body = $('clients-body');
  const table = $('clients-table');

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
    badge.dataset.state = kStates.includes(state) ? state : 'unknown';
    setText(badge.lastChild, kStateLabels[state] || String(state));
  }

  // ---- Rows: one per client, sorted by id like the server's listing ----

  const clients = new Map();  // id -> { data, lastBeatMs, row, cells }

  function createRow(id) {
    const row = element('tr');
    row.dataset.id = id;
    const idCell = element('th');
    idCell.scope = 'row';
    idCell.append(element('span', 'client-id', id), element('span', 'client-addr'));
    const stateCell = element('td', 'state-cell');
    stateCell.append(stateBadge('up'));
    const seenCell = element('td', 'seen');
    seenCell.append(element('time'));
    const cells = {
      addr: idCell.lastChild,
      badge: stateCell.firstChild,
      seen: seenCell.firstChild,
      interval: element('td', 'num'),
      beats: element('td', 'num'),
      msg: element('td', 'msg'),
    };
    row.append(idCell, stateCell, seenCell, cells.interval, cells.beats, cells.msg);
    return { data: null, lastBeatMs: NaN, row, cells };
  }

  function renderRow(record) {
    const c = record.data;
    const { row, cells } = record;
    row.dataset.state = c.state;
    setBadge(cells.badge, c.state);
    setText(cells.addr, c.remote_addr ? `from ${c.remote_addr}` : '');
    cells.seen.dateTime = c.last_beat;
    cells.seen.title = `last beat ${c.last_beat} (server time, UTC)`;
    setText(cells.seen, formatAgo(record.lastBeatMs, serverClock.now()));
    setText(cells.interval, formatSeconds(c.interval));
    cells.interval.title = `the next beat is due within ${formatSeconds(c.interval)}; down ${formatSeconds(c.grace)} after that`;
    setText(cells.beats, Number(c.beats).toLocaleString());
    setText(cells.msg, c.msg || '');
    cells.msg.title = c.msg || '';
  }

  function insertSorted(row, id) {
    for (const other of body.rows) {
      if (other.dataset.id > id) {
        body.insertBefore(row, other);
        return;
      }
    }
    body.append(row);
  }

  function flash(row) {
    row.classList.remove('changed');
    void row.offsetWidth;  // restarts the animation when the row changes twice in a row
    row.classList.add('changed');
  }

  // Adds or updates a client's row. `highlight` flashes it when its state changed.
  function upsert(client, { highlight = false, place = true } = {}) {
    let record = clients.get(client.id);
    const previous = record ? record.data.state : undefined;
    if (!record) {
      record = createRow(client.id);
      clients.set(client.id, record);
      if (place) insertSorted(record.row, client.id);
    }
    record.data = client;
    record.lastBeatMs = Date.parse(client.last_beat);
    renderRow(record);
    if (highlight && previous !== client.state) flash(record.row);
  }

  function remove(id) {
    const record = clients.get(id);
    if (!record) return false;
    record.row.remove();
    clients.delete(id);
    return true;
  }

  function showCount(node, count) {
    node.dataset.count = String(count);
    setText(node, String(count));
  }

  function refreshSummary() {
    const counts = { up: 0, late: 0, failing: 0, down: 0 };
    for (const { data } of clients.values()) {
      if (Object.hasOwn(counts, data.state)) counts[data.state] += 1;
    }
    showCount($('count-online'), clients.size - counts.down);
    showCount($('count-offline'), counts.down);
    for (const state of kStates) showCount($(`count-${state}`), counts[state]);
    $('clients-empty').hidden = clients.size > 0;
    $('clients-wrap').hidden = clients.size === 0;
  }

  function tick() {
    const now = serverClock.now();
    for (const { lastBeatMs, cells } of clients.values()) setText(cells.seen, formatAgo(lastBeatMs, now));
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
    const fragment = document.createDocumentFragment();
    for (const client of listing.clients) {
      seen.add(client.id);
      upsert(client, { place: false });
      fragment.append(clients.get(client.id).row);  // moves existing rows: the listing is sorted
    }
    for (const id of [...clients.keys()]) {
      if (!seen.has(id)) remove(id);
    }
    body.replaceChildren(fragment);
    table.setAttribute('aria-busy', 'false');
    refreshSummary();
  }

  function onChange(kind, payload) {
    serverClock.update(payload.server_time);
    upsert(payload.client, { highlight: true });
    refreshSummary();
    addActivity(kind, payload);
  }

  function onLeave(payload) {
    serverClock.update(payload.server_time);
    if (remove(payload.id)) {
      refreshSummary();
      addActivity('leave', payload);
    }
  }

  // "beats" events keep last_beat, beats and msg fresh between state changes. They only refresh
  // rows: rows come and go with join and leave, which are numbered and arrive in order.
  function onBeats(payload) {
    serverClock.update(payload.server_time);
    for (const client of payload.clients) {
      if (clients.has(client.id)) upsert(client, { highlight: true });
    }
    refreshSummary();
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
    const token = readToken.get();
    try {
      const response = await fetch(kEventsUrl, {
        method: 'HEAD',
        cache: 'no-store',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
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

  function setConnection(state, text) {
    const indicator = $('connection');
    if (indicator.dataset.state === state && $('connection-text').textContent === text) return;
    indicator.dataset.state = state;
    document.body.dataset.connection = state;
    $('connection-text').textContent = text;
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
      setConnection('live', 'Live');
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CONNECTING) {
        setConnection('reconnecting', 'Reconnecting…');
        return;
      }
      // CLOSED: the server answered with an error (401 without the read token; 503 while busy
      // or shutting down, say), and EventSource gives up on those. A new one starts from a fresh
      // snapshot.
      source.close();
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
  $('token-form').addEventListener('submit', onTokenSubmit);
  connect();
  setInterval(tick, kTickMs);
})();
