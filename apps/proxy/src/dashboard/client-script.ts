// The dashboard's browser script, served as /dashboard.js (never inline, so the page's CSP can forbid
// inline scripts). Plain ES2020 with no dependency: it follows GET /events (Server-Sent Events), keeps one
// table row per upstream (adding and removing rows as upstreams come and go), and with an admin token
// entered calls PATCH /upstreams/NAME. Every value from the server is placed with textContent or
// setAttribute, never parsed as HTML. The token lives in sessionStorage only (never a URL or a cookie).
// Rows are built here with the same structure and classes as the server-rendered ones (page.ts).

export const DASHBOARD_JS = String.raw`(function () {
  'use strict';
  var TOKEN_KEY = 'roundguard.adminToken';
  var STATES = ['up', 'down', 'ejected', 'draining', 'maint'];
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var RETRY_MS = 5000;

  var body = document.body;
  var tbody = document.getElementById('rows');
  var live = document.getElementById('live');
  var summary = document.getElementById('summary');
  var message = document.getElementById('message');
  var tokenSection = document.getElementById('token-section');
  var tokenForm = document.getElementById('token-form');
  var tokenInput = document.getElementById('token');
  var tokenClear = document.getElementById('token-clear');
  var tokenState = document.getElementById('token-state');

  /** name -> row record */
  var rows = new Map();
  var adopted = false;
  var memoryToken = '';

  function readToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return memoryToken;
    }
  }

  function writeToken(token) {
    memoryToken = token;
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // Storage disabled: the token stays in this page's memory only.
    }
    applyToken();
  }

  function applyToken() {
    var has = readToken() !== '';
    body.classList.toggle('has-token', has);
    tokenClear.hidden = !has;
    tokenState.textContent = has
      ? 'Token set for this tab: Drain, Maint, Ready and Weight are shown on each row.'
      : 'Read-only. Enter the admin token to drain, put in maintenance, bring back or reweight an upstream; it is kept in this tab only.';
  }

  function show(kind, text) {
    message.className = kind ? 'message ' + kind : 'message';
    message.textContent = text;
  }

  function el(tag, cls, label) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (label) node.setAttribute('data-label', label);
    return node;
  }

  function setText(node, value) {
    var v = String(value);
    if (node.textContent !== v) node.textContent = v;
  }

  function setAttr(node, name, value) {
    var v = String(value);
    if (node.getAttribute(name) !== v) node.setAttribute(name, v);
  }

  function createRow(name) {
    var r = { name: name, weightDirty: false };
    r.tr = el('tr', 'row');
    r.tr.setAttribute('data-name', name);

    var nameCell = el('td', 'col-name', 'Upstream');
    r.nameText = el('span', 'name');
    r.urlText = el('span', 'url');
    nameCell.append(r.nameText, r.urlText);

    var stateCell = el('td', 'col-state', 'State');
    r.state = el('span', 'state');
    stateCell.append(r.state);

    r.weight = el('td', 'col-num col-weight', 'Weight');
    r.inFlight = el('td', 'col-num col-inflight', 'In flight');
    r.rps = el('td', 'col-num col-rps', 'req/s');
    r.errors = el('td', 'col-num col-errors', 'Errors');
    r.p50 = el('td', 'col-num col-p50', 'p50');
    r.p99 = el('td', 'col-num col-p99', 'p99');

    r.probeCell = el('td', 'col-probe', 'Last probe');
    var wrap = el('span', 'probe-wrap');
    r.probe = el('span', 'probe');
    r.probeError = el('span', 'probe-error');
    wrap.append(r.probe, r.probeError);
    r.probeCell.append(wrap);

    var sparkCell = el('td', 'col-spark', 'req/s, 5 min');
    r.svg = document.createElementNS(SVG_NS, 'svg');
    r.svg.setAttribute('class', 'spark');
    r.svg.setAttribute('viewBox', '0 0 120 24');
    r.svg.setAttribute('preserveAspectRatio', 'none');
    r.svg.setAttribute('role', 'img');
    r.sparkTitle = document.createElementNS(SVG_NS, 'title');
    r.polyline = document.createElementNS(SVG_NS, 'polyline');
    r.svg.append(r.sparkTitle, r.polyline);
    sparkCell.append(r.svg);

    var actionsCell = el('td', 'col-actions', 'Actions');
    var actions = el('div', 'actions');
    [['drain', 'Drain'], ['maint', 'Maint'], ['ready', 'Ready']].forEach(function (pair) {
      var button = el('button');
      button.type = 'button';
      button.textContent = pair[1];
      button.setAttribute('data-action', pair[0]);
      button.setAttribute('aria-label', pair[1] + ' ' + name);
      button.addEventListener('click', function () {
        send(r, { state: pair[0] }, pair[1]);
      });
      actions.append(button);
    });
    var weightLabel = el('label', 'weight-label');
    weightLabel.append('Weight');
    r.weightInput = el('input');
    r.weightInput.type = 'number';
    r.weightInput.min = '0';
    r.weightInput.step = '1';
    r.weightInput.inputMode = 'numeric';
    r.weightInput.setAttribute('aria-label', 'Weight of ' + name);
    r.weightInput.addEventListener('input', function () {
      r.weightDirty = true;
    });
    r.weightInput.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') setWeight(r);
    });
    weightLabel.append(r.weightInput);
    var weightButton = el('button');
    weightButton.type = 'button';
    weightButton.textContent = 'Set';
    weightButton.setAttribute('data-action', 'weight');
    weightButton.setAttribute('aria-label', 'Set weight of ' + name);
    weightButton.addEventListener('click', function () {
      setWeight(r);
    });
    var weightGroup = el('span', 'weight-group');
    weightGroup.append(weightLabel, weightButton);
    actions.append(weightGroup);
    actionsCell.append(actions);
    r.buttons = actions.querySelectorAll('button');

    r.tr.append(
      nameCell, stateCell, r.weight, r.inFlight, r.rps, r.errors, r.p50, r.p99,
      r.probeCell, sparkCell, actionsCell
    );
    return r;
  }

  function updateRow(r, u) {
    var stateClass = STATES.indexOf(u.stateClass) >= 0 ? u.stateClass : 'unknown';
    var t = u.text || {};
    setAttr(r.tr, 'class', 'row row-' + stateClass);
    setText(r.nameText, u.name);
    setText(r.urlText, u.url);
    setText(r.state, u.state);
    setAttr(r.state, 'class', 'state state-' + stateClass);
    setText(r.weight, t.weight);
    setText(r.inFlight, t.inFlight);
    setText(r.rps, t.rps);
    setText(r.errors, t.errors);
    setAttr(r.errors, 'title', t.errorsTitle);
    setText(r.p50, t.p50);
    setText(r.p99, t.p99);
    var probe = u.lastProbe;
    setText(r.probe, t.probe);
    setAttr(r.probe, 'class', probe ? (probe.ok ? 'probe probe-ok' : 'probe probe-failed') : 'probe probe-none');
    setText(r.probeError, probe && probe.error ? probe.error : '');
    setAttr(r.probeCell, 'title', t.probeTitle);
    setAttr(r.polyline, 'points', u.sparkPoints);
    setText(r.sparkTitle, t.spark);
    setAttr(r.svg, 'aria-label', t.spark);
    if (!r.weightDirty && document.activeElement !== r.weightInput) {
      if (r.weightInput.value !== String(u.weight)) r.weightInput.value = String(u.weight);
    }
  }

  function render(snapshot) {
    if (!snapshot || !Array.isArray(snapshot.upstreams)) return;
    if (!adopted) {
      // The server-rendered rows have no buttons: the script's own rows replace them.
      tbody.replaceChildren();
      adopted = true;
    }
    var seen = new Set();
    var previous = null;
    var counts = new Map();
    snapshot.upstreams.forEach(function (u) {
      var name = String(u.name);
      if (seen.has(name)) return;
      seen.add(name);
      counts.set(u.state, (counts.get(u.state) || 0) + 1);
      var r = rows.get(name);
      if (!r) {
        r = createRow(name);
        rows.set(name, r);
      }
      updateRow(r, u);
      var wanted = previous ? previous.nextSibling : tbody.firstChild;
      if (wanted !== r.tr) tbody.insertBefore(r.tr, wanted);
      previous = r.tr;
    });
    rows.forEach(function (r, name) {
      if (!seen.has(name)) {
        r.tr.remove();
        rows.delete(name);
      }
    });
    setText(summary, summaryText(counts, seen.size));
    var at = new Date(snapshot.at);
    live.setAttribute('data-state', 'live');
    setText(live, 'Live · ' + (isNaN(at.getTime()) ? '' : at.toLocaleTimeString()));
  }

  function summaryText(counts, total) {
    if (total === 0) return 'No upstreams.';
    var parts = [];
    STATES.forEach(function (s) {
      if (counts.has(s)) parts.push(counts.get(s) + ' ' + s);
    });
    counts.forEach(function (n, s) {
      if (STATES.indexOf(s) < 0) parts.push(n + ' ' + s);
    });
    return total + (total === 1 ? ' upstream: ' : ' upstreams: ') + parts.join(', ');
  }

  function setWeight(r) {
    var raw = r.weightInput.value.trim();
    var weight = Number(raw);
    if (raw === '' || !Number.isFinite(weight)) {
      show('error', 'Weight of ' + r.name + ': enter a number.');
      return;
    }
    send(r, { weight: weight }, 'Weight ' + weight).then(function (ok) {
      if (ok) r.weightDirty = false;
    });
  }

  function describeFailure(res, text) {
    var detail = res.status + (res.statusText ? ' ' + res.statusText : '');
    try {
      var parsed = JSON.parse(text);
      if (parsed && parsed.error && typeof parsed.error === 'object') {
        detail = res.status + ' ' + String(parsed.error.code) + ': ' + String(parsed.error.message);
      }
    } catch (e) {
      // Not the API's JSON error: the status line says it.
    }
    return detail;
  }

  function send(r, change, what) {
    var token = readToken();
    if (!token) {
      show('error', 'Enter the admin token first.');
      return Promise.resolve(false);
    }
    r.buttons.forEach(function (b) { b.disabled = true; });
    var done = function () {
      r.buttons.forEach(function (b) { b.disabled = false; });
    };
    var request;
    try {
      request = fetch('/upstreams/' + encodeURIComponent(r.name), {
        method: 'PATCH',
        headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
        body: JSON.stringify(change),
        cache: 'no-store',
        credentials: 'same-origin',
        redirect: 'error',
      });
    } catch (err) {
      request = Promise.reject(err);
    }
    return request.then(
      function (res) {
        return res.text().then(function (text) {
          done();
          if (res.ok) {
            show('ok', what + ' ' + r.name + ': done.');
            return true;
          }
          show('error', what + ' ' + r.name + ' failed: ' + describeFailure(res, text));
          if (res.status === 401) tokenInput.focus();
          return false;
        });
      },
      function (err) {
        done();
        show('error', what + ' ' + r.name + ' failed: ' + (err && err.message ? err.message : String(err)));
        return false;
      }
    );
  }

  var source = null;
  function connect() {
    source = new EventSource('/events');
    source.onmessage = function (event) {
      var snapshot;
      try {
        snapshot = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      render(snapshot);
    };
    source.onerror = function () {
      live.setAttribute('data-state', 'lost');
      if (source.readyState === EventSource.CLOSED) {
        // Refused (too many viewers, or the server is draining): try again later.
        setText(live, 'Disconnected, retrying…');
        source = null;
        setTimeout(connect, RETRY_MS);
      } else {
        setText(live, 'Reconnecting…');
      }
    };
  }

  tokenForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var token = tokenInput.value.trim();
    tokenInput.value = '';
    if (!token) {
      show('error', 'The token is empty.');
      return;
    }
    writeToken(token);
    show('', '');
  });
  tokenClear.addEventListener('click', function () {
    writeToken('');
    show('ok', 'Token forgotten.');
  });

  tokenSection.hidden = false;
  applyToken();
  connect();
})();
`;
