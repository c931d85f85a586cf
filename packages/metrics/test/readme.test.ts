import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme, renderTable } from '../scripts/readme-table.mjs';
import { createHttpServerMetrics, createMetrics, HTTP_SERVER_METRICS, PROXY_METRICS } from '../src/index.js';
import { parseExposition } from './exposition.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const tables = { proxy: PROXY_METRICS, 'http-server': HTTP_SERVER_METRICS };

describe('README metric tables', () => {
  it('match the tables in code (regenerate with `pnpm --filter @roundguard/metrics readme`)', () => {
    expect(renderReadme(readme, tables)).toBe(readme);
  });

  it('have one row per metric, and a change to the code table changes the rendering', () => {
    const rendered = renderTable(PROXY_METRICS);
    for (const spec of Object.values(PROXY_METRICS))
      expect(rendered).toContain(`\`roundguard_${spec.name}\``);
    const changed = { ...PROXY_METRICS, retries: { ...PROXY_METRICS.retries, help: 'Something else.' } };
    expect(renderReadme(readme, { ...tables, proxy: changed })).not.toBe(readme);
  });
});

describe('the metric tables', () => {
  it.each([
    ['createMetrics', PROXY_METRICS, () => createMetrics({ defaultMetrics: false }).registry],
    [
      'createHttpServerMetrics',
      HTTP_SERVER_METRICS,
      () => createHttpServerMetrics({ defaultMetrics: false }).registry,
    ],
  ] as const)('are exactly what %s registers: names, types and help', async (_fn, table, registry) => {
    const { types, help } = parseExposition(await registry().metrics());
    const specs = Object.values(table);
    expect(Object.fromEntries(types)).toEqual(
      Object.fromEntries(specs.map((spec) => [`roundguard_${spec.name}`, spec.type])),
    );
    expect(Object.fromEntries(help)).toEqual(
      Object.fromEntries(specs.map((spec) => [`roundguard_${spec.name}`, spec.help])),
    );
  });

  it('expose each metric under its key, with its label names', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (const [property, spec] of Object.entries(PROXY_METRICS)) {
      const metric = metrics[property as keyof typeof PROXY_METRICS];
      expect(metric).toBe(metrics.registry.getSingleMetric(`roundguard_${spec.name}`));
      expect((metric as unknown as { labelNames: string[] }).labelNames).toEqual(spec.labels);
    }
  });

  it('are frozen', () => {
    expect(Object.isFrozen(PROXY_METRICS)).toBe(true);
    expect(Object.isFrozen(PROXY_METRICS.requestsTotal)).toBe(true);
    expect(Object.isFrozen(PROXY_METRICS.requestsTotal.labels)).toBe(true);
    expect(Object.isFrozen(HTTP_SERVER_METRICS.requestsInFlight)).toBe(true);
  });
});
