/**
 * The console's script (plain browser JavaScript, no build step). It keeps the API key the user
 * pastes in localStorage, polls the sandbox list, and for the selected sandbox polls processes and
 * stats and follows its event stream (NDJSON over fetch). Everything from the API is rendered with
 * `textContent`, never as HTML.
 */

export const CONSOLE_JS = String.raw`'use strict';
(function () {
  var KEY_STORAGE = 'hutch.apiKey';
  var state = { key: localStorage.getItem(KEY_STORAGE) || '', selected: null, follow: null, lastEventSeq: 0, timer: null };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function setStatus(text, isError) {
    var s = $('status');
    s.textContent = text;
    s.className = isError ? 'error' : '';
  }

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Authorization: 'Bearer ' + state.key }, options.headers || {});
    return fetch(path, Object.assign({}, options, { headers: headers })).then(function (res) {
      if (res.status === 204) return null;
      return res.json().then(function (body) {
        if (!res.ok) { var err = new Error(body && body.message ? body.message : 'HTTP ' + res.status); err.code = body && body.code; throw err; }
        return body;
      });
    });
  }

  function age(iso) {
    var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  }

  function resources(r) {
    var parts = [];
    if (r.vcpus) parts.push(r.vcpus + ' vCPU');
    if (r.memoryMib) parts.push(r.memoryMib + ' MiB');
    if (r.pids) parts.push(r.pids + ' pids');
    if (r.diskMib) parts.push(r.diskMib + ' MiB disk');
    return parts.length ? parts.join(', ') : 'default';
  }

  function bytes(n) {
    if (n === null || n === undefined) return 'n/a';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }

  function stateBadge(value) { return el('span', value, 'state ' + value); }

  function renderSandboxes(list) {
    var body = $('sandboxes');
    body.textContent = '';
    $('count').textContent = '(' + list.items.length + ')';
    $('no-sandboxes').hidden = list.items.length > 0;
    list.items.forEach(function (s) {
      var tr = el('tr', null, 'sandbox' + (s.id === state.selected ? ' selected' : ''));
      tr.setAttribute('data-sandbox-id', s.id);
      tr.appendChild(el('td', s.id, 'mono'));
      var st = el('td'); st.appendChild(stateBadge(s.state)); tr.appendChild(st);
      tr.appendChild(el('td', s.backend));
      tr.appendChild(el('td', s.template || '—', 'dim'));
      tr.appendChild(el('td', age(s.createdAt)));
      tr.appendChild(el('td', resources(s.resources)));
      tr.appendChild(el('td', s.deadlineAt ? 'in ' + Math.max(0, Math.round((Date.parse(s.deadlineAt) - Date.now()) / 1000)) + 's' : '—', 'dim'));
      tr.addEventListener('click', function () { select(s.id); });
      body.appendChild(tr);
    });
  }

  function refreshList() {
    return api('/v1/sandboxes?limit=1000').then(function (list) {
      renderSandboxes(list);
      setStatus('Connected · ' + new Date().toLocaleTimeString());
    });
  }

  function renderDetail(info) {
    $('detail-title').textContent = info.id;
    $('detail-body').hidden = false;
    var meta = Object.keys(info.metadata).map(function (k) { return k + '=' + info.metadata[k]; }).join(' ');
    $('detail-info').textContent = info.state + ' · ' + info.backend + ' · created ' + new Date(info.createdAt).toLocaleString() + (meta ? ' · ' + meta : '') + (info.failureReason ? ' · ' + info.failureReason : '');
  }

  function renderStats(stats) {
    var box = $('stats');
    box.textContent = '';
    [['CPU', stats ? stats.cpuUsageMs + ' ms' : 'n/a'], ['Memory', stats ? bytes(stats.memoryBytes) : 'n/a'], ['PIDs', stats ? stats.pids : 'n/a'], ['Disk', stats ? bytes(stats.diskBytes) : 'n/a']].forEach(function (pair) {
      var d = el('div', pair[0], 'stat dim');
      d.appendChild(el('b', pair[1]));
      box.appendChild(d);
    });
  }

  function renderProcesses(list) {
    var body = $('processes');
    body.textContent = '';
    if (!list.length) { var tr = el('tr'); tr.appendChild(el('td', 'No processes.', 'dim')); body.appendChild(tr); return; }
    list.forEach(function (p) {
      var tr = el('tr');
      tr.appendChild(el('td', p.pid, 'mono'));
      tr.appendChild(el('td', [p.cmd].concat(p.args).join(' ').slice(0, 80), 'mono'));
      tr.appendChild(el('td', p.tag || '—', 'dim'));
      tr.appendChild(el('td', p.running ? 'running' : (p.exit ? p.exit.reason + (p.exit.exitCode !== null ? ' (' + p.exit.exitCode + ')' : '') : 'ended')));
      tr.appendChild(el('td', age(p.startedAt) + ' ago', 'dim'));
      body.appendChild(tr);
    });
  }

  function addEvent(e) {
    if (e.type === 'keepalive' || e.type === 'error' || e.seq <= state.lastEventSeq) return;
    state.lastEventSeq = e.seq;
    var tr = el('tr');
    tr.appendChild(el('td', new Date(e.at).toLocaleTimeString(), 'dim'));
    tr.appendChild(el('td', e.type, 'mono'));
    tr.appendChild(el('td', JSON.stringify(e.data), 'mono dim'));
    var body = $('events');
    body.insertBefore(tr, body.firstChild);
  }

  function followEvents(id) {
    if (state.follow) state.follow.abort();
    var controller = new AbortController();
    state.follow = controller;
    fetch('/v1/sandboxes/' + encodeURIComponent(id) + '/events?follow=true', { headers: { Authorization: 'Bearer ' + state.key }, signal: controller.signal }).then(function (res) {
      if (!res.ok || !res.body) return;
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buffered = '';
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffered += decoder.decode(chunk.value, { stream: true });
          var lines = buffered.split('\n');
          buffered = lines.pop();
          lines.forEach(function (line) { if (line.trim()) addEvent(JSON.parse(line)); });
          return pump();
        });
      }
      return pump();
    }).catch(function () { /* aborted when another sandbox is selected */ });
  }

  function refreshDetail() {
    var id = state.selected;
    if (!id) return Promise.resolve();
    return api('/v1/sandboxes/' + encodeURIComponent(id)).then(function (info) {
      renderDetail(info);
      var live = info.state === 'running' || info.state === 'paused';
      return Promise.all([
        live ? api('/v1/sandboxes/' + encodeURIComponent(id) + '/stats').catch(function () { return null; }) : Promise.resolve(null),
        api('/v1/sandboxes/' + encodeURIComponent(id) + '/processes').catch(function () { return []; }),
      ]).then(function (results) {
        if (state.selected !== id) return;
        renderStats(results[0]);
        renderProcesses(results[1]);
      });
    });
  }

  function select(id) {
    state.selected = id;
    state.lastEventSeq = 0;
    $('events').textContent = '';
    document.querySelectorAll('tr.sandbox').forEach(function (tr) { tr.classList.toggle('selected', tr.getAttribute('data-sandbox-id') === id); });
    followEvents(id);
    refreshDetail().catch(function (err) { setStatus(err.message, true); });
  }

  function tick() {
    refreshList().then(refreshDetail).catch(function (err) { setStatus(err.code === 'unauthorized' ? 'The API key was refused.' : err.message, true); });
  }

  function connect() {
    state.key = $('api-key').value.trim() || state.key;
    localStorage.setItem(KEY_STORAGE, state.key);
    $('api-key').value = '';
    if (state.timer) clearInterval(state.timer);
    tick();
    state.timer = setInterval(tick, 2000);
  }

  document.querySelectorAll('[data-action]').forEach(function (button) {
    button.addEventListener('click', function () {
      if (!state.selected) return;
      var action = button.getAttribute('data-action');
      var path = '/v1/sandboxes/' + encodeURIComponent(state.selected) + (action === 'destroy' ? '' : '/' + action);
      api(path, { method: action === 'destroy' ? 'DELETE' : 'POST' }).then(tick).catch(function (err) { setStatus(err.message, true); });
    });
  });
  $('save-key').addEventListener('click', connect);
  $('api-key').addEventListener('keydown', function (e) { if (e.key === 'Enter') connect(); });
  fetch('/v1/health').then(function (r) { return r.json(); }).then(function (h) { $('version').textContent = 'v' + h.version; }).catch(function () {});
  if (state.key) connect();
})();
`;
