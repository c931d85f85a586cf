// Part of the dashboard's browser script (client-script.ts): the functions that build one table row
// (cells, sparkline, Drain / Maint / Ready buttons and the weight field) and update it from a snapshot
// row. Spliced into the script's scope: it uses el, setText, setAttr, send, setWeight and the constants
// defined there.

export const ROW_FUNCTIONS = String.raw`  function createRow(name) {
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
`;
