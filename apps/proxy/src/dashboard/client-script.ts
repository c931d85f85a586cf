// The dashboard's browser script, served as /dashboard.js (never inline, so the page's CSP can forbid
// inline scripts). Plain ES2020 with no dependency: it follows GET /events (Server-Sent Events), keeps one
// table row per upstream (adding and removing rows as upstreams come and go), and with an admin token
// entered calls PATCH /upstreams/NAME. Every value from the server is placed with textContent or
// setAttribute, never parsed as HTML. The token lives in sessionStorage only (never a URL or a cookie).
// Rows are built (client-rows.ts) with the same structure and classes as the server-rendered ones (page.ts).
import { ROW_FUNCTIONS } from './client-rows.js';

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

${ROW_FUNCTIONS}
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
