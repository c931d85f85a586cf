// The dashboard's stylesheet, served as /dashboard.css: system fonts only, nothing loaded from elsewhere.
// States have a colour and always their word too. Below 720 px each row becomes a card of label/value
// lines, so the page reads on a phone without sideways scrolling.

export const DASHBOARD_CSS = `:root {
  color-scheme: light;
  --fg: #1f2328;
  --muted: #59636e;
  --line: #d1d9e0;
  --bg: #ffffff;
  --panel: #f6f8fa;
  --up: #1a7f37;
  --up-bg: #dafbe1;
  --down: #cf222e;
  --down-bg: #ffebe9;
  --ejected: #9a4b00;
  --ejected-bg: #fff1e5;
  --draining: #0550ae;
  --draining-bg: #ddf4ff;
  --maint: #57606a;
  --maint-bg: #eaeef2;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif;
  color: var(--fg);
  background: var(--bg);
}
.top {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  justify-content: space-between;
  gap: 4px 16px;
  padding: 12px 16px;
  border-bottom: 1px solid var(--line);
  background: var(--panel);
}
h1 { margin: 0; font-size: 18px; }
.live { margin: 0; color: var(--muted); font-size: 13px; }
.live[data-state="live"]::before { content: "\\25CF  "; color: var(--up); }
.live[data-state="lost"]::before { content: "\\25CF  "; color: var(--down); }
main { padding: 12px 16px 24px; }
.summary { margin: 0 0 12px; font-weight: 600; }
.token form { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
.token label { font-weight: 600; }
.token input { width: 16em; max-width: 100%; }
input, button { font: inherit; }
input { padding: 4px 6px; border: 1px solid var(--line); border-radius: 6px; }
button {
  padding: 3px 10px;
  border: 1px solid var(--line);
  border-radius: 6px;
  background: var(--panel);
  color: var(--fg);
  cursor: pointer;
}
button:hover { border-color: var(--muted); }
button:disabled { opacity: 0.55; cursor: progress; }
.hint { margin: 6px 0 0; color: var(--muted); font-size: 13px; }
.message { min-height: 1.45em; margin: 8px 0; }
.message.error { color: var(--down); font-weight: 600; }
.message.ok { color: var(--up); }
.table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; background: var(--panel); }
.col-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th:nth-child(n+3):nth-child(-n+8) { text-align: right; }
.name { display: block; font-weight: 600; overflow-wrap: break-word; }
.url { display: block; color: var(--muted); font-size: 12px; overflow-wrap: break-word; }
.state {
  display: inline-block;
  padding: 1px 8px;
  border-radius: 999px;
  font-weight: 600;
  white-space: nowrap;
  color: var(--maint);
  background: var(--maint-bg);
}
.state::before { content: "\\25CF  "; }
.state-up { color: var(--up); background: var(--up-bg); }
.state-down { color: var(--down); background: var(--down-bg); }
.state-ejected { color: var(--ejected); background: var(--ejected-bg); }
.state-draining { color: var(--draining); background: var(--draining-bg); }
.state-maint { color: var(--maint); background: var(--maint-bg); }
.row-down td:first-child { box-shadow: inset 3px 0 0 var(--down); }
.row-ejected td:first-child { box-shadow: inset 3px 0 0 var(--ejected); }
.probe-wrap { display: inline-flex; flex-direction: column; }
.probe { white-space: nowrap; }
.probe-failed { color: var(--down); }
.probe-none { color: var(--muted); }
.probe-error { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.probe-error:empty { display: none; }
.spark { display: block; width: 120px; height: 24px; overflow: visible; }
.spark polyline { fill: none; stroke: var(--draining); stroke-width: 1.5; vector-effect: non-scaling-stroke; stroke-linejoin: round; }
.row-down .spark polyline { stroke: var(--down); }
body:not(.has-token) .col-actions { display: none; }
.actions { display: flex; flex-wrap: nowrap; align-items: center; gap: 4px; }
.actions button { padding: 2px 8px; font-size: 13px; }
.weight-group { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
.actions input { width: 4.5em; padding: 2px 4px; font-size: 13px; }
.actions .weight-label { display: inline-flex; align-items: center; gap: 4px; margin-left: 4px; font-size: 12px; color: var(--muted); }
@media (max-width: 720px) {
  main { padding: 12px; }
  .top { padding: 10px 12px; }
  table, tbody, tr, td { display: block; width: auto; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  tr { margin: 0 0 12px; padding: 8px 12px; border: 1px solid var(--line); border-radius: 8px; }
  td { display: flex; justify-content: space-between; align-items: center; gap: 12px; padding: 3px 0; border: 0; text-align: right; }
  td::before { content: attr(data-label); flex: none; text-align: left; color: var(--muted); font-size: 12px; font-weight: 600; }
  td.col-name { display: block; text-align: left; padding-bottom: 6px; }
  td.col-name::before { content: none; }
  .row-down td:first-child, .row-ejected td:first-child { box-shadow: none; }
  .row-down { border-left: 4px solid var(--down); }
  .row-ejected { border-left: 4px solid var(--ejected); }
  .probe-wrap { align-items: flex-end; }
  .spark { width: 140px; }
  body.has-token td.col-actions { display: block; padding-top: 8px; }
  .actions { flex-wrap: wrap; }
  .name, .url { overflow-wrap: anywhere; }
  td.col-actions::before { content: none; }
}
`;
