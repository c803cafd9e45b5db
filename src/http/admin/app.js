// Sluice admin UI: plain JavaScript, no build step. Talks to the HTTP API (/query, /write,
// /debug/vars) cross-origin with the user's credentials, which live in this tab's memory
// only (never localStorage or sessionStorage). localStorage keeps the query history (minus
// any statement with a password) and an API URL override.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  };

  const TABLE_ROWS_MAX = 1000;
  const HISTORY_MAX = 50;
  const STATUS_INTERVAL_MS = 2000;
  const STATUS_SAMPLES_MAX = 150;

  const state = {
    api: '',
    auth: null, // {user, password} | {token} | null
    databases: [],
    schema: { measurements: [], fields: [], tags: [] },
    history: loadHistory(),
    lastResults: null,
    statusTimer: null,
    statusCharts: {},
    perf: { lastRenderMs: 0, lastChartMs: 0 },
  };
  window.sluiceAdmin = state; // read by the browser tests (timings, chart draws)

  // ---------------------------------------------------------------- API

  class AuthError extends Error {}

  function authHeaders() {
    const auth = state.auth;
    if (!auth) return {};
    if (auth.token) return { Authorization: 'Bearer ' + auth.token };
    return { Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(auth.user + ':' + auth.password))) };
  }

  async function apiQuery(q, db, rp) {
    const body = new URLSearchParams({ q, epoch: 'ms' });
    if (db) body.set('db', db);
    if (rp) body.set('rp', rp);
    const response = await fetch(state.api + '/query', {
      method: 'POST', headers: authHeaders(), body,
    });
    if (response.status === 401) throw new AuthError('authentication required');
    const text = await response.text();
    let json;
    try { json = JSON.parse(text); } catch (_) { throw new Error(text || response.statusText); }
    if (json.error) throw new Error(json.error);
    return json;
  }

  // The series of the first statement of `q`, or [] (throws the statement's error).
  async function show(q, db) {
    const json = await apiQuery(q, db);
    const result = (json.results || [])[0] || {};
    if (result.error) throw new Error(result.error);
    return result.series || [];
  }
  const firstColumn = (series) => series.flatMap((s) => (s.values || []).map((v) => v[0]));

  async function apiWrite(db, rp, precision, body) {
    const params = new URLSearchParams({ db, precision });
    if (rp) params.set('rp', rp);
    const response = await fetch(state.api + '/write?' + params, {
      method: 'POST', headers: authHeaders(), body,
    });
    if (response.status === 401) throw new AuthError('authentication required');
    if (response.status === 204) return null;
    const text = await response.text();
    try { return JSON.parse(text).error || text; } catch (_) { return text; }
  }

  async function apiDebugVars() {
    const response = await fetch(state.api + '/debug/vars', { headers: authHeaders() });
    if (response.status === 401) throw new AuthError('authentication required');
    if (!response.ok) throw new Error('/debug/vars: ' + response.status + ' ' + (await response.text()));
    return response.json();
  }

  // ---------------------------------------------------------------- start-up and login

  async function start() {
    let config = { apiUrl: '', apiPort: 8086, apiScheme: 'http' };
    try { config = await (await fetch('config.json')).json(); } catch (_) { /* defaults */ }
    const override = new URLSearchParams(location.search).get('api') || localStorage.getItem('sluice.apiUrl');
    state.api = (override || config.apiUrl ||
      `${config.apiScheme}://${location.hostname}:${config.apiPort}`).replace(/\/+$/, '');
    wireTabs();
    wireEditor();
    wireWriteDialog();
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    await enter();
  }

  // Shows the app if the API answers, the login form if it wants credentials.
  async function enter() {
    try {
      await loadDatabases();
      $('login').hidden = true;
      $('main').querySelectorAll('.view').forEach((v) => v.classList.remove('locked'));
      showTab(currentTab());
      $('who').textContent = state.auth ? 'as ' + (state.auth.user || 'token') : '';
      $('logout').hidden = !state.auth;
      document.body.dataset.ready = 'true';
      return true;
    } catch (error) {
      if (error instanceof AuthError) {
        showLogin(state.auth ? 'Those credentials were refused.' : '');
        return false;
      }
      $('query-status').textContent = 'Cannot reach the API at ' + state.api + ': ' + error.message;
      document.body.dataset.ready = 'error';
      return false;
    }
  }

  function showLogin(message) {
    document.querySelectorAll('.view').forEach((v) => { v.hidden = true; });
    $('login').hidden = false;
    $('login-error').textContent = message;
    document.body.dataset.ready = 'login';
    $('login-user').focus();
  }

  async function login(event) {
    event.preventDefault();
    const user = $('login-user').value;
    const password = $('login-password').value;
    const token = $('login-token').value.trim();
    state.auth = token ? { token } : { user, password };
    $('login-password').value = '';
    await enter();
  }

  function logout() {
    state.auth = null;
    $('who').textContent = '';
    $('logout').hidden = true;
    showLogin('');
  }

  // ---------------------------------------------------------------- tabs

  const TABS = ['query', 'explore', 'status'];
  function currentTab() {
    return TABS.find((t) => $('tab-' + t).getAttribute('aria-selected') === 'true') || 'query';
  }
  function wireTabs() {
    for (const name of TABS) {
      $('tab-' + name).addEventListener('click', () => showTab(name));
    }
    $('tabs').addEventListener('keydown', (event) => {
      const index = TABS.indexOf(currentTab());
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = TABS[(index + step + TABS.length) % TABS.length];
      showTab(next);
      $('tab-' + next).focus();
    });
  }
  function showTab(name) {
    if (!$('login').hidden) return;
    for (const tab of TABS) {
      const selected = tab === name;
      $('tab-' + tab).setAttribute('aria-selected', String(selected));
      $('tab-' + tab).tabIndex = selected ? 0 : -1;
      $('view-' + tab).hidden = !selected;
    }
    if (name === 'explore') loadTree();
    if (name === 'status') startStatus(); else stopStatus();
  }

  // ---------------------------------------------------------------- databases and schema

  async function loadDatabases() {
    state.databases = firstColumn(await show('SHOW DATABASES'));
    for (const id of ['db-select', 'write-db']) {
      const select = $(id);
      const previous = select.value;
      select.replaceChildren(...state.databases.map((name) => el('option', { value: name }, name)));
      if (state.databases.includes(previous)) select.value = previous;
    }
    await loadRetentionPolicies('db-select', 'rp-select');
    await loadRetentionPolicies('write-db', 'write-rp');
    loadSchema();
  }

  async function loadRetentionPolicies(dbId, rpId) {
    const db = $(dbId).value;
    const select = $(rpId);
    const previous = select.value;
    const options = [el('option', { value: '' }, '(default)')];
    if (db) {
      try {
        const names = firstColumn(await show(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`));
        options.push(...names.map((name) => el('option', { value: name }, name)));
      } catch (error) { if (error instanceof AuthError) throw error; }
    }
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  }

  // Names for completion: measurements, field keys and tag keys of the selected database.
  async function loadSchema() {
    const db = $('db-select').value;
    state.schema = { measurements: [], fields: [], tags: [] };
    if (!db) return;
    const on = ' ON ' + quoteIdent(db);
    try {
      const [measurements, fields, tags] = await Promise.all([
        show('SHOW MEASUREMENTS' + on), show('SHOW FIELD KEYS' + on), show('SHOW TAG KEYS' + on),
      ]);
      const unique = (list) => [...new Set(list)].sort();
      state.schema = {
        measurements: unique(firstColumn(measurements)),
        fields: unique(firstColumn(fields)),
        tags: unique(firstColumn(tags)),
      };
    } catch (_) { /* completion without names */ }
  }

  function quoteIdent(name) {
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name.toUpperCase())
      ? name : '"' + name.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
  }

  // ---------------------------------------------------------------- the editor

  const KEYWORDS = new Set(('ALL ALTER ANALYZE ANY AS ASC BEGIN BY CARDINALITY CREATE CONTINUOUS ' +
    'DATABASE DATABASES DEFAULT DELETE DESC DESTINATIONS DIAGNOSTICS DISTINCT DROP DURATION END ' +
    'EVERY EXACT EXPLAIN FIELD FOR FROM GRANT GRANTS GROUP GROUPS IN INF INSERT INTO KEY KEYS ' +
    'KILL LIMIT MEASUREMENT MEASUREMENTS NAME OFFSET ON ORDER PASSWORD POLICIES POLICY ' +
    'PRIVILEGES QUERIES QUERY READ REPLICATION RESAMPLE RETENTION REVOKE SELECT SERIES SET ' +
    'SHARD SHARDS SLIMIT SOFFSET STATS SUBSCRIPTION SUBSCRIPTIONS TAG TO USER USERS VALUES ' +
    'WHERE WITH WRITE AND OR NOT TRUE FALSE FILL NULL NONE LINEAR PREVIOUS NOW TIME TZ').split(' '));
  const FUNCTIONS = ('count distinct integral mean median mode spread stddev sum bottom first last ' +
    'max min percentile sample top abs acos asin atan atan2 ceil cos cumulative_sum derivative ' +
    'difference elapsed exp floor histogram ln log log2 log10 moving_average ' +
    'non_negative_derivative non_negative_difference pow round sin sqrt tan holt_winters ' +
    'chande_momentum_oscillator exponential_moving_average double_exponential_moving_average ' +
    'kaufmans_efficiency_ratio kaufmans_adaptive_moving_average triple_exponential_moving_average ' +
    'triple_exponential_derivative relative_strength_index now time').split(' ');
  const FUNCTION_SET = new Set(FUNCTIONS);

  // InfluxQL tokens: [kind, text]; kinds kw, fn, id, str, num, cm, ws, op.
  function tokenize(text) {
    const tokens = [];
    const patterns = [
      ['cm', /^--[^\n]*/], ['str', /^'(?:[^'\\]|\\.)*'?/], ['id', /^"(?:[^"\\]|\\.)*"?/],
      ['num', /^\d+(?:\.\d+)?(?:ns|u|µ|ms|s|m|h|d|w)?\b/], ['word', /^[A-Za-z_][A-Za-z0-9_]*/],
      ['ws', /^\s+/], ['op', /^./s],
    ];
    let rest = text;
    while (rest.length) {
      for (const [kind, pattern] of patterns) {
        const match = pattern.exec(rest);
        if (!match) continue;
        let k = kind;
        if (kind === 'word') {
          const after = rest.slice(match[0].length);
          if (FUNCTION_SET.has(match[0].toLowerCase()) && /^\s*\(/.test(after)) k = 'fn';
          else k = KEYWORDS.has(match[0].toUpperCase()) ? 'kw' : 'id';
        }
        tokens.push([k, match[0]]);
        rest = rest.slice(match[0].length);
        break;
      }
    }
    return tokens;
  }

  function renderHighlight() {
    const text = $('query').value;
    const errorAt = state.errorOffset;
    const pre = $('highlight');
    pre.replaceChildren();
    let offset = 0;
    for (const [kind, token] of tokenize(text)) {
      const start = offset;
      offset += token.length;
      const cls = kind === 'ws' || kind === 'op' ? '' : 'tk-' + kind;
      if (errorAt !== undefined && errorAt >= start && errorAt < offset) {
        const cut = errorAt - start;
        if (cut) pre.append(cls ? el('span', { class: cls }, token.slice(0, cut)) : token.slice(0, cut));
        pre.append(el('mark', { class: 'tk-err', id: 'error-mark' }, token.slice(cut)));
      } else {
        pre.append(cls ? el('span', { class: cls }, token) : token);
      }
    }
    if (errorAt !== undefined && errorAt >= text.length) pre.append(el('mark', { class: 'tk-err', id: 'error-mark' }, ' '));
    pre.append('\n');
    pre.scrollTop = $('query').scrollTop;
  }

  // ------------------------------------------------ completion

  const completion = { items: [], index: 0, start: 0 };

  function candidates(prefix) {
    const lower = prefix.toLowerCase();
    const out = [];
    const add = (list, kind) => {
      for (const name of list) {
        if (name.toLowerCase().startsWith(lower) && name !== prefix) out.push([name, kind]);
      }
    };
    add(state.schema.measurements, 'measurement');
    add(state.schema.fields, 'field');
    add(state.schema.tags, 'tag');
    add(FUNCTIONS, 'function');
    add([...KEYWORDS], 'keyword');
    const seen = new Set();
    return out.filter(([name]) => !seen.has(name) && seen.add(name)).slice(0, 30);
  }

  function updateCompletions() {
    const area = $('query');
    const before = area.value.slice(0, area.selectionStart);
    const match = /"?([A-Za-z_][A-Za-z0-9_.\-]*)$/.exec(before);
    if (!match || area.selectionStart !== area.selectionEnd) return closeCompletions();
    completion.start = area.selectionStart - match[0].length;
    completion.items = candidates(match[1]);
    completion.index = 0;
    if (!completion.items.length) return closeCompletions();
    const list = $('completions');
    list.replaceChildren(...completion.items.map(([name, kind], i) => el('li', {
      role: 'option', id: 'completion-' + i, 'aria-selected': String(i === 0),
      onmousedown: (event) => { event.preventDefault(); completion.index = i; acceptCompletion(); },
    }, el('span', {}, name), el('small', {}, kind))));
    const { top, left } = caretPosition(area, area.selectionStart);
    list.style.top = top + 'px';
    list.style.left = Math.min(left, area.clientWidth - 180) + 'px';
    list.hidden = false;
    area.setAttribute('aria-expanded', 'true');
    area.setAttribute('aria-activedescendant', 'completion-0');
  }

  function closeCompletions() {
    $('completions').hidden = true;
    completion.items = [];
    $('query').setAttribute('aria-expanded', 'false');
    $('query').removeAttribute('aria-activedescendant');
  }

  function moveCompletion(step) {
    const count = completion.items.length;
    completion.index = (completion.index + step + count) % count;
    [...$('completions').children].forEach((li, i) => li.setAttribute('aria-selected', String(i === completion.index)));
    const active = $('completion-' + completion.index);
    active.scrollIntoView({ block: 'nearest' });
    $('query').setAttribute('aria-activedescendant', active.id);
  }

  function acceptCompletion() {
    const area = $('query');
    const [name, kind] = completion.items[completion.index];
    const needsQuotes = kind !== 'keyword' && kind !== 'function' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
    const text = needsQuotes ? quoteIdent(name) : name;
    area.setRangeText(text, completion.start, area.selectionStart, 'end');
    closeCompletions();
    onEdit();
  }

  // Pixel position of the caret inside the textarea (a mirror of the text before it).
  function caretPosition(area, index) {
    const mirror = el('div', {});
    const style = getComputedStyle(area);
    for (const p of ['font', 'padding', 'border', 'width', 'whiteSpace', 'wordWrap', 'overflowWrap', 'letterSpacing', 'lineHeight']) {
      mirror.style[p] = style[p];
    }
    Object.assign(mirror.style, { position: 'absolute', visibility: 'hidden', whiteSpace: 'pre-wrap' });
    mirror.textContent = area.value.slice(0, index);
    const marker = el('span', {}, '\u200b');
    mirror.append(marker);
    document.body.append(mirror);
    const top = marker.offsetTop + parseFloat(style.lineHeight || '20') - area.scrollTop + 2;
    const left = marker.offsetLeft;
    mirror.remove();
    return { top, left };
  }

  function onEdit() {
    state.errorOffset = undefined;
    renderHighlight();
  }

  function wireEditor() {
    const area = $('query');
    area.addEventListener('input', () => { onEdit(); updateCompletions(); });
    area.addEventListener('scroll', () => { $('highlight').scrollTop = area.scrollTop; });
    area.addEventListener('blur', () => setTimeout(() => {
      if (document.activeElement !== area) closeCompletions();
    }, 100));
    area.addEventListener('keydown', (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
        event.preventDefault();
        closeCompletions();
        runQuery();
        return;
      }
      if ($('completions').hidden) {
        if (event.ctrlKey && event.key === ' ') { event.preventDefault(); updateCompletions(); }
        return;
      }
      if (event.key === 'ArrowDown') { event.preventDefault(); moveCompletion(1); }
      else if (event.key === 'ArrowUp') { event.preventDefault(); moveCompletion(-1); }
      else if (event.key === 'Tab' || event.key === 'Enter') { event.preventDefault(); acceptCompletion(); }
      else if (event.key === 'Escape') { event.preventDefault(); closeCompletions(); }
    });
    $('run').addEventListener('click', runQuery);
    $('db-select').addEventListener('change', async () => {
      await loadRetentionPolicies('db-select', 'rp-select');
      loadSchema();
    });
    $('history-select').addEventListener('change', (event) => {
      if (!event.target.value) return;
      area.value = event.target.value;
      event.target.value = '';
      onEdit();
      area.focus();
    });
    renderHistory();
    renderHighlight();
  }

  // ------------------------------------------------ history

  function loadHistory() {
    try { return JSON.parse(localStorage.getItem('sluice.history') || '[]'); } catch (_) { return []; }
  }
  function remember(q) {
    // A statement with a password is never written to storage.
    if (/\bPASSWORD\b/i.test(q)) return;
    state.history = [q, ...state.history.filter((h) => h !== q)].slice(0, HISTORY_MAX);
    try { localStorage.setItem('sluice.history', JSON.stringify(state.history)); } catch (_) { /* full */ }
    renderHistory();
  }
  function renderHistory() {
    const select = $('history-select');
    select.replaceChildren(el('option', { value: '' }, 'Recent queries…'),
      ...state.history.map((q) => el('option', { value: q }, q.length > 80 ? q.slice(0, 77) + '…' : q)));
  }

  // ---------------------------------------------------------------- running a query

  async function runQuery() {
    const q = $('query').value.trim();
    if (!q) return;
    const started = performance.now();
    state.perf.runStartedAt = started;
    $('query-status').textContent = 'Running…';
    $('query-error').hidden = true;
    state.errorOffset = undefined;
    renderHighlight();
    let json;
    try {
      json = await apiQuery(q, $('db-select').value, $('rp-select').value);
    } catch (error) {
      if (error instanceof AuthError) { showLogin('Your session needs credentials.'); return; }
      showQueryError(error.message, q);
      $('query-status').textContent = '';
      $('results').replaceChildren();
      return;
    }
    remember(q);
    const answered = performance.now();
    state.lastResults = json.results || [];
    renderResults(state.lastResults);
    state.perf.lastRenderMs = performance.now() - started;
    const points = state.lastResults.reduce((n, r) => n + (r.series || []).reduce((m, s) => m + (s.values || []).length, 0), 0);
    $('query-status').textContent = `${points} rows in ${Math.round(answered - started)} ms`;
    const firstError = state.lastResults.find((r) => r.error);
    if (firstError) showQueryError(firstError.error, q);
    if (/^\s*(CREATE|DROP|ALTER)\b/i.test(q)) loadDatabases().catch(() => {});
  }

  // An error, with its position in the query when the message gives one.
  function showQueryError(message, q) {
    const box = $('query-error');
    box.replaceChildren(el('p', { class: 'msg' }, el('strong', {}, 'Error: '), message));
    const at = /at line (\d+), char (\d+)/.exec(message);
    if (at) {
      const line = Number(at[1]);
      const char = Number(at[2]);
      const lines = q.split('\n');
      const text = lines[line - 1] || '';
      const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + char - 1;
      box.append(el('p', { id: 'error-position' }, `Line ${line}, character ${char}`),
        el('pre', { 'aria-label': 'Position of the error' }, text + '\n' + ' '.repeat(Math.max(0, char - 1)) + '^'));
      // the query in the editor may have had leading blanks trimmed
      const area = $('query');
      const lead = area.value.length - area.value.trimStart().length;
      state.errorOffset = lead + offset;
      renderHighlight();
      area.setSelectionRange(lead + offset, lead + offset);
    }
    box.hidden = false;
  }

  // ---------------------------------------------------------------- results

  function seriesTitle(series) {
    const tags = Object.entries(series.tags || {}).map(([k, v]) => `${k}=${v}`).join(', ');
    return (series.name || '') + (tags ? ` {${tags}}` : '');
  }

  function formatCell(value, column) {
    if (value === null || value === undefined) return '';
    if (column === 'time' && typeof value === 'number') return new Date(value).toISOString();
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  function renderResults(results) {
    const container = $('results');
    container.replaceChildren();
    results.forEach((result, index) => {
      const section = el('section', { class: 'statement', 'aria-label': `Statement ${index + 1}` });
      if (result.error) {
        section.append(el('p', { class: 'error' }, `Statement ${index + 1}: ${result.error}`));
      }
      const series = result.series || [];
      if (!series.length && !result.error) section.append(el('p', { class: 'note' }, `Statement ${index + 1}: success, no rows.`));
      if (series.length) {
        section.append(el('div', { class: 'downloads' },
          el('button', { type: 'button', class: 'download-csv', onclick: () => download(result, 'csv') }, 'Download CSV'),
          el('button', { type: 'button', class: 'download-json', onclick: () => download(result, 'json') }, 'Download JSON')));
      }
      if (series.some(hasTimeAndNumbers)) section.append(renderChart(series));
      for (const s of series) section.append(renderTable(s));
      container.append(section);
    });
  }

  function renderTable(series) {
    const columns = series.columns || [];
    const values = series.values || [];
    const shown = values.slice(0, TABLE_ROWS_MAX);
    const numeric = columns.map((_, i) => shown.length > 0 && typeof shown[0][i] === 'number');
    const body = el('tbody');
    const rows = [];
    for (const row of shown) {
      rows.push(el('tr', {}, row.map((cell, i) =>
        el('td', { class: numeric[i] && columns[i] !== 'time' ? 'num' : null }, formatCell(cell, columns[i])))));
    }
    body.append(...rows);
    const title = seriesTitle(series);
    return el('div', { class: 'series' },
      el('h3', {}, title || '(result)'),
      el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Rows of ' + (title || 'result') },
        el('table', {},
          el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c)))),
          body)),
      values.length > shown.length ? el('p', { class: 'note' }, `Showing the first ${shown.length} of ${values.length} rows; download for all.`) : null);
  }

  function hasTimeAndNumbers(series) {
    const columns = series.columns || [];
    const values = series.values || [];
    if (columns[0] !== 'time' || !values.length) return false;
    return columns.some((_, i) => i > 0 && values.some((row) => typeof row[i] === 'number'));
  }

  const PALETTE = ['#1d4ed8', '#b91c1c', '#047857', '#7c3aed', '#c2410c', '#0e7490', '#be185d', '#4d7c0f', '#374151', '#a16207'];

  // One chart per statement: a line per (series, numeric column), on the union of their times.
  function renderChart(allSeries) {
    const started = performance.now();
    const tables = [];
    const labels = [];
    for (const series of allSeries.filter(hasTimeAndNumbers)) {
      const columns = series.columns;
      const values = series.values;
      const times = values.map((row) => row[0]);
      for (let c = 1; c < columns.length; c++) {
        if (!values.some((row) => typeof row[c] === 'number')) continue;
        tables.push([times, values.map((row) => (typeof row[c] === 'number' ? row[c] : null))]);
        const title = seriesTitle(series);
        labels.push(columns.length > 2 ? `${title} ${columns[c]}` : title || columns[c]);
      }
    }
    const holder = el('div', { class: 'chart', role: 'img', 'aria-label': `Line chart of ${labels.length} series` });
    if (!window.uPlot) return holder;
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    let drawn = 0;
    const options = {
      width: 800, height: 300, ms: 1,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [{ label: 'time', value: (u, v) => (v == null ? '' : new Date(v).toISOString()) },
        ...labels.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))],
      hooks: {
        drawSeries: [() => { drawn += 1; }],
        draw: [() => {
          holder.dataset.drawnSeries = String(drawn);
          drawn = 0;
          state.perf.chartDrawnAt = performance.now();
          state.perf.lastChartMs = state.perf.chartDrawnAt - started;
        }],
      },
    };
    holder.dataset.seriesCount = String(labels.length);
    // Sized once attached: uPlot needs the holder's width.
    requestAnimationFrame(() => {
      options.width = Math.max(280, holder.clientWidth || 800);
      const chart = new uPlot(options, data, holder);
      holder.uplot = chart;
      const resize = new ResizeObserver(() => {
        const width = Math.max(280, holder.clientWidth);
        if (width !== chart.width) chart.setSize({ width, height: 300 });
      });
      resize.observe(holder);
    });
    return holder;
  }

  function download(result, kind) {
    let text;
    if (kind === 'json') {
      text = JSON.stringify(result, null, 2);
    } else {
      const quote = (v) => { const s = v === null || v === undefined ? '' : String(v); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
      const lines = [];
      for (const series of result.series || []) {
        const tagKeys = Object.keys(series.tags || {});
        if (!lines.length) lines.push(['name', ...tagKeys, ...series.columns].map(quote).join(','));
        for (const row of series.values || []) {
          lines.push([series.name, ...tagKeys.map((k) => series.tags[k]), ...row.map((v, i) => formatCell(v, series.columns[i]))].map(quote).join(','));
        }
      }
      text = lines.join('\n') + '\n';
    }
    const blob = new Blob([text], { type: kind === 'json' ? 'application/json' : 'text/csv' });
    const link = el('a', { href: URL.createObjectURL(blob), download: `sluice-result.${kind}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // ---------------------------------------------------------------- explorer

  function treeItem(label, kind, onOpen, extra) {
    // The disclosure pattern (a button with aria-expanded over a nested list): Tab and
    // Enter reach everything, which an ARIA tree would only do with its arrow-key model.
    const children = el('ul', { hidden: true });
    const button = el('button', { type: 'button', 'aria-expanded': onOpen ? 'false' : null },
      (onOpen ? '▸ ' : '') + label, kind ? el('span', { class: 'kind' }, kind) : null, extra || null);
    const item = el('li', {}, button, children);
    let loaded = false;
    button.addEventListener('click', async () => {
      if (!onOpen) return;
      const open = button.getAttribute('aria-expanded') !== 'true';
      button.setAttribute('aria-expanded', String(open));
      button.firstChild.textContent = (open ? '▾ ' : '▸ ') + label;
      children.hidden = !open;
      if (open && !loaded) {
        loaded = true;
        children.replaceChildren(el('li', { class: 'note' }, 'Loading…'));
        try { children.replaceChildren(...await onOpen()); } catch (error) {
          children.replaceChildren(el('li', { class: 'error' }, error.message));
        }
      }
    });
    return { item, button };
  }

  async function loadTree() {
    const tree = $('tree');
    try {
      const databases = firstColumn(await show('SHOW DATABASES'));
      tree.replaceChildren(...databases.map((db) => treeItem(db, 'database', () => databaseChildren(db)).item));
      if (!databases.length) tree.replaceChildren(el('li', { class: 'note' }, 'No databases yet.'));
    } catch (error) {
      if (error instanceof AuthError) { showLogin(''); return; }
      tree.replaceChildren(el('li', { class: 'error' }, error.message));
    }
  }

  async function databaseChildren(db) {
    const policies = await show(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`);
    const rows = policies.flatMap((s) => s.values || []);
    return rows.map(([rp, duration, , , isDefault]) =>
      treeItem(rp, `retention policy, ${duration === '0s' ? 'infinite' : duration}${isDefault ? ', default' : ''}`,
        () => measurementItems(db, rp)).item);
  }

  async function measurementItems(db, rp) {
    const names = firstColumn(await show(`SHOW MEASUREMENTS ON ${quoteIdent(db)}`));
    if (!names.length) return [el('li', { class: 'note' }, 'No measurements.')];
    return names.map((m) => {
      const { item } = treeItem(m, 'measurement', () => measurementChildren(db, rp, m));
      const query = el('button', { type: 'button', class: 'query-measurement', 'aria-label': `Query ${m}` }, '▶ query');
      query.addEventListener('click', () => openQuery(`SELECT * FROM ${target(db, rp, m)} WHERE time > now() - 1h LIMIT 1000`, db, rp));
      item.firstChild.after(query);
      return item;
    });
  }

  const target = (db, rp, m) => `${quoteIdent(db)}.${quoteIdent(rp)}.${quoteIdent(m)}`;

  async function measurementChildren(db, rp, m) {
    const on = `ON ${quoteIdent(db)} FROM ${quoteIdent(m)}`;
    const [fields, tags, series] = await Promise.all([
      show(`SHOW FIELD KEYS ${on}`), show(`SHOW TAG KEYS ${on}`),
      show(`SHOW SERIES CARDINALITY ${on}`).catch(() => []),
    ]);
    const seriesCount = firstColumn(series)[0];
    const items = [];
    if (seriesCount !== undefined) items.push(el('li', { class: 'note' }, `${seriesCount} series`));
    for (const [field, type] of fields.flatMap((s) => s.values || [])) {
      const numeric = type === 'float' || type === 'integer';
      const q = numeric
        ? `SELECT mean(${quoteIdent(field)}) FROM ${target(db, rp, m)} WHERE time > now() - 1h GROUP BY time(1m) fill(none)`
        : `SELECT last(${quoteIdent(field)}) FROM ${target(db, rp, m)} WHERE time > now() - 1h GROUP BY time(1m) fill(none)`;
      const { item, button } = treeItem(field, `field, ${type}`, null);
      button.classList.add('field');
      button.addEventListener('click', () => openQuery(q, db, rp));
      items.push(item);
    }
    for (const tag of firstColumn(tags)) {
      const count = el('span', { class: 'count' }, '');
      const { item, button } = treeItem(tag, 'tag', null, count);
      button.classList.add('tag');
      button.addEventListener('click', () => openQuery(
        `SELECT count(*) FROM ${target(db, rp, m)} WHERE time > now() - 1h GROUP BY ${quoteIdent(tag)}`, db, rp));
      show(`SHOW TAG VALUES CARDINALITY ${on} WITH KEY = ${quoteIdent(tag)}`)
        .then((s) => { count.textContent = `${firstColumn(s)[0] ?? 0} values`; }).catch(() => {});
      items.push(item);
    }
    return items;
  }

  async function openQuery(q, db, rp) {
    $('db-select').value = db;
    await loadRetentionPolicies('db-select', 'rp-select');
    $('rp-select').value = rp || '';
    loadSchema();
    $('query').value = q;
    onEdit();
    showTab('query');
    $('query').focus();
    runQuery();
  }

  // ---------------------------------------------------------------- write dialog

  function wireWriteDialog() {
    const dialog = $('write-dialog');
    $('open-write').addEventListener('click', async () => {
      $('write-db').value = $('db-select').value;
      await loadRetentionPolicies('write-db', 'write-rp').catch(() => {});
      $('write-result').replaceChildren();
      dialog.showModal();
      $('write-body').focus();
    });
    $('write-close').addEventListener('click', () => dialog.close());
    $('write-db').addEventListener('change', () => loadRetentionPolicies('write-db', 'write-rp').catch(() => {}));
    $('write-send').addEventListener('click', sendWrite);
    $('write-body').addEventListener('keydown', (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') { event.preventDefault(); sendWrite(); }
    });
  }

  async function sendWrite() {
    const result = $('write-result');
    const body = $('write-body').value;
    const db = $('write-db').value;
    if (!db) { result.replaceChildren(el('p', { class: 'error' }, 'Choose a database (create one with CREATE DATABASE).')); return; }
    result.replaceChildren(el('p', {}, 'Sending…'));
    let error;
    try {
      error = await apiWrite(db, $('write-rp').value, $('write-precision').value, body);
    } catch (failure) {
      if (failure instanceof AuthError) { $('write-dialog').close(); showLogin(''); return; }
      error = failure.message;
    }
    const lines = body.split('\n');
    const count = lines.filter((l) => l.trim() && !l.trim().startsWith('#')).length;
    if (error === null) {
      result.replaceChildren(el('p', { class: 'ok', id: 'write-ok' }, `Wrote ${count} line${count === 1 ? '' : 's'}.`));
      loadSchema();
      return;
    }
    result.replaceChildren(...describeWriteError(error, lines));
  }

  // InfluxDB's write errors, one list item per line they name.
  function describeWriteError(error, lines) {
    let text = error;
    const partial = text.startsWith('partial write: ');
    if (partial) text = text.slice('partial write: '.length);
    const dropped = / dropped=(\d+)$/.exec(text);
    if (dropped) text = text.slice(0, dropped.index);
    const items = text.split('\n').map((message) => {
      const parse = /^unable to parse '(.*)': (.*)$/s.exec(message);
      if (parse) {
        const index = lines.findIndex((l) => l === parse[1] || l.trim() === parse[1].trim());
        return el('li', { class: 'write-error-line' }, index >= 0 ? `line ${index + 1}: ${parse[2]} — ${parse[1]}` : message);
      }
      return el('li', { class: 'write-error-line' }, message);
    });
    return [
      el('p', { class: 'error' }, partial ? 'Partial write: the other lines were written.' : 'Write refused.'),
      el('ul', { id: 'write-errors' }, items),
      dropped ? el('p', { class: 'note' }, `${dropped[1]} points dropped.`) : null,
    ].filter(Boolean);
  }

  // ---------------------------------------------------------------- status

  const METRICS = [
    ['ingest', 'Points written / s', (v, p, dt) => rate(sumModule(v, 'wal', 'pointsWritten'), p && sumModule(p, 'wal', 'pointsWritten'), dt), 'rate'],
    ['queries', 'Queries / s', (v, p, dt) => rate(sumModule(v, 'queryExecutor', 'queriesExecuted'), p && sumModule(p, 'queryExecutor', 'queriesExecuted'), dt), 'rate'],
    ['series', 'Series', (v) => sumModule(v, 'database', 'numSeries'), 'count'],
    ['memory', 'Resident memory', (v) => sumModule(v, 'runtime', 'ResidentBytes'), 'bytes'],
    ['wal', 'WAL (current segments)', (v) => sumModule(v, 'wal', 'currentSegmentDiskBytes'), 'bytes'],
    ['cache', 'Cache', (v) => sumModule(v, 'engine', 'cacheBytes') + sumModule(v, 'engine', 'frozenCacheBytes'), 'bytes'],
  ];

  function sumModule(vars, module, key) {
    let total = 0;
    for (const stat of Object.values(vars)) {
      if (stat && stat.name === module && stat.values && typeof stat.values[key] === 'number') total += stat.values[key];
    }
    return total;
  }
  const rate = (now, before, dt) => (before === undefined || before === null || !dt ? null : Math.max(0, (now - before) / dt));

  function formatMetric(value, unit) {
    if (value === null || value === undefined) return '…';
    if (unit === 'bytes') {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let v = value; let i = 0;
      while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
    }
    if (unit === 'rate') return value.toFixed(value < 10 ? 2 : 0);
    return String(Math.round(value));
  }

  function startStatus() {
    if (state.statusTimer) return;
    const grid = $('status-grid');
    $('status-interval').textContent = String(STATUS_INTERVAL_MS / 1000);
    if (!grid.children.length) {
      for (const [id, title, , unit] of METRICS) {
        const holder = el('div', { class: 'metric-chart' });
        grid.append(el('section', { class: 'metric', id: 'metric-' + id, 'aria-label': title },
          el('h3', {}, title, el('span', { class: 'value', 'aria-live': 'off' }, '…')), holder));
        state.statusCharts[id] = { holder, unit, times: [], values: [], chart: null };
      }
    }
    let previous = null;
    let previousAt = 0;
    const tick = async () => {
      let vars;
      try { vars = await apiDebugVars(); } catch (error) {
        if (error instanceof AuthError) { stopStatus(); showLogin(''); return; }
        $('status-error').textContent = error.message;
        return;
      }
      $('status-error').textContent = '';
      const now = Date.now();
      const dt = previous ? (now - previousAt) / 1000 : 0;
      for (const [id, , compute] of METRICS) {
        const metric = state.statusCharts[id];
        const value = compute(vars, previous, dt);
        metric.holder.parentElement.querySelector('.value').textContent = formatMetric(value, metric.unit);
        metric.holder.parentElement.dataset.samples = String(metric.times.length + 1);
        metric.times.push(now / 1000);
        metric.values.push(value);
        if (metric.times.length > STATUS_SAMPLES_MAX) { metric.times.shift(); metric.values.shift(); }
        drawMetric(metric);
      }
      previous = vars;
      previousAt = now;
    };
    tick();
    state.statusTimer = setInterval(tick, STATUS_INTERVAL_MS);
  }

  function drawMetric(metric) {
    if (!window.uPlot) return;
    const data = [metric.times, metric.values];
    if (metric.chart) { metric.chart.setData(data); return; }
    const width = Math.max(240, metric.holder.clientWidth || 280);
    metric.chart = new uPlot({
      width, height: 120, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: true } },
      axes: [
        { size: 24, space: 70, font: '11px system-ui', values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toTimeString().slice(0, 8)) },
        { size: 76, font: '11px system-ui', values: (u, ticks) => ticks.map((t) => formatMetric(t, metric.unit)) },
      ],
      series: [{}, { stroke: '#1d4ed8', width: 1.5, fill: 'rgba(29,78,216,.08)', spanGaps: true }],
    }, data, metric.holder);
  }

  function stopStatus() {
    if (state.statusTimer) clearInterval(state.statusTimer);
    state.statusTimer = null;
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
