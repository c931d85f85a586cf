// The dashboard's HTML: the whole table rendered on the server, so the first answer is readable without
// JavaScript. Every value that comes from an upstream or its configuration is escaped here.
import type { DashboardRow, DashboardSnapshot } from './rows.js';
import { SPARK_HEIGHT, SPARK_WIDTH, UPSTREAM_STATES } from './rows.js';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and for quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Column labels; the narrow layout shows them beside each value. */
export const COLUMNS = [
  'Upstream',
  'State',
  'Weight',
  'In flight',
  'req/s',
  'Errors',
  'p50',
  'p99',
  'Last probe',
  'req/s, 5 min',
  'Actions',
] as const;

/** "4 upstreams: 2 up, 1 down, 1 draining". */
export function stateSummary(rows: readonly DashboardRow[]): string {
  if (rows.length === 0) return 'No upstreams.';
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const order = (s: string): number => {
    const i = (UPSTREAM_STATES as readonly string[]).indexOf(s);
    return i < 0 ? UPSTREAM_STATES.length : i;
  };
  const parts = [...counts].sort((a, b) => order(a[0]) - order(b[0])).map(([state, n]) => `${n} ${state}`);
  return `${rows.length} upstream${rows.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

function cell(label: string, cls: string, content: string, title?: string): string {
  const t = title === undefined ? '' : ` title="${escapeHtml(title)}"`;
  return `<td class="${cls}" data-label="${escapeHtml(label)}"${t}>${content}</td>`;
}

function renderRow(row: DashboardRow): string {
  const e = escapeHtml;
  const t = row.text;
  const probeClass =
    row.lastProbe === null ? 'probe probe-none' : row.lastProbe.ok ? 'probe probe-ok' : 'probe probe-failed';
  const probeError = row.lastProbe?.error ?? '';
  return (
    `<tr class="row row-${row.stateClass}" data-name="${e(row.name)}">` +
    cell(
      'Upstream',
      'col-name',
      `<span class="name">${e(row.name)}</span><span class="url">${e(row.url)}</span>`,
    ) +
    cell('State', 'col-state', `<span class="state state-${row.stateClass}">${e(row.state)}</span>`) +
    cell('Weight', 'col-num col-weight', e(t.weight)) +
    cell('In flight', 'col-num col-inflight', e(t.inFlight)) +
    cell('req/s', 'col-num col-rps', e(t.rps)) +
    cell('Errors', 'col-num col-errors', e(t.errors), t.errorsTitle) +
    cell('p50', 'col-num col-p50', e(t.p50)) +
    cell('p99', 'col-num col-p99', e(t.p99)) +
    cell(
      'Last probe',
      'col-probe',
      `<span class="probe-wrap"><span class="${probeClass}">${e(t.probe)}</span>` +
        `<span class="probe-error">${e(probeError)}</span></span>`,
      t.probeTitle,
    ) +
    cell(
      'req/s, 5 min',
      'col-spark',
      `<svg class="spark" viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}" preserveAspectRatio="none" ` +
        `role="img" aria-label="${e(t.spark)}"><title>${e(t.spark)}</title>` +
        `<polyline points="${e(row.sparkPoints)}"></polyline></svg>`,
    ) +
    cell('Actions', 'col-actions', '') +
    '</tr>'
  );
}

export interface PageAssets {
  readonly title: string;
  readonly scriptUrl: string;
  readonly styleUrl: string;
}

/** The whole page for a snapshot. */
export function renderPage(snapshot: DashboardSnapshot, assets: PageAssets): string {
  const e = escapeHtml;
  const time = snapshot.at.slice(11, 19);
  const head = COLUMNS.map((label) => {
    const cls = label === 'Actions' ? ' class="col-actions"' : '';
    return `<th scope="col"${cls}>${e(label)}</th>`;
  }).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(assets.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${e(assets.styleUrl)}">
<script src="${e(assets.scriptUrl)}" defer></script>
<noscript><meta http-equiv="refresh" content="5"></noscript>
</head>
<body>
<header class="top">
<h1>${e(assets.title)}</h1>
<p id="live" class="live" data-state="static">Snapshot at ${e(time)} UTC</p>
</header>
<main>
<p id="summary" class="summary">${e(stateSummary(snapshot.upstreams))}</p>
<section id="token-section" class="token" aria-label="Admin token" hidden>
<form id="token-form" autocomplete="off">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="token for changes">
<button type="submit">Use token</button>
<button type="button" id="token-clear" hidden>Forget token</button>
</form>
<p id="token-state" class="hint"></p>
</section>
<p id="message" class="message" role="status" aria-live="polite"></p>
<div class="table-wrap">
<table id="upstreams">
<thead><tr>${head}</tr></thead>
<tbody id="rows">${snapshot.upstreams.map(renderRow).join('')}</tbody>
</table>
</div>
<noscript><p class="hint">Without JavaScript this page reloads every 5 seconds.</p></noscript>
</main>
</body>
</html>
`;
}
