// Renders the README's metric tables from the tables in code (`PROXY_METRICS`, `HTTP_SERVER_METRICS`),
// so the README cannot drift from what `createMetrics()` registers.
//
//   pnpm --filter @roundguard/metrics readme        (builds, then rewrites README.md in place)
//   node scripts/readme-table.mjs [--check]         (on dist/; --check fails instead of writing)
//
// Each table sits between `<!-- metrics-table:KEY -->` and `<!-- /metrics-table:KEY -->`;
// test/readme.test.ts checks that the README holds what `renderReadme` makes of the tables in src/.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PREFIX = 'roundguard_';

function labelCell(spec) {
  return spec.labels
    .map((label) => {
      const values = spec.values?.[label];
      return values === undefined ? label : `${label} (${values.map((v) => `\`${v}\``).join(', ')})`;
    })
    .join(', ');
}

/** The markdown table of one metric table, one row per metric, in table order. */
export function renderTable(table) {
  const rows = Object.entries(table).map(
    ([property, spec]) =>
      `| \`${PREFIX}${spec.name}\` | ${spec.type} | ${labelCell(spec)} | \`${property}\` | ${spec.help.replaceAll('|', '\\|')} |`,
  );
  return ['| metric | type | labels | property | help |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** `readme` with the content between each pair of markers replaced by the rendered table. */
export function renderReadme(readme, tables) {
  let out = readme;
  for (const [id, table] of Object.entries(tables)) {
    const start = `<!-- metrics-table:${id} -->`;
    const end = `<!-- /metrics-table:${id} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from === -1 || to < from) throw new Error(`README has no ${start} ... ${end} section`);
    out = `${out.slice(0, from + start.length)}\n${renderTable(table)}\n${out.slice(to)}`;
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { PROXY_METRICS, HTTP_SERVER_METRICS } = await import('../dist/index.js');
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const readme = readFileSync(path, 'utf8');
  const rendered = renderReadme(readme, { proxy: PROXY_METRICS, 'http-server': HTTP_SERVER_METRICS });
  if (process.argv.includes('--check')) {
    if (rendered !== readme) {
      console.error(
        'README.md metric tables are out of date: run `pnpm --filter @roundguard/metrics readme`',
      );
      process.exit(1);
    }
  } else if (rendered !== readme) {
    writeFileSync(path, rendered);
    console.log('README.md metric tables updated');
  } else {
    console.log('README.md metric tables are up to date');
  }
}
