import { describe, expect, it } from 'vitest';
import { ADMIN_ACTIONS, createMetrics, type ProxyMetrics } from '../src/index.js';
import { key, parseExposition, samplesWithPrefix } from './exposition.js';

async function changes(metrics: ProxyMetrics): Promise<Record<string, number>> {
  return samplesWithPrefix(
    parseExposition(await metrics.registry.metrics()),
    'roundguard_admin_changes_total',
  );
}

describe('ProxyMetrics.adminChange', () => {
  it('exports nothing before the first change', async () => {
    expect(await changes(createMetrics({ defaultMetrics: false }))).toEqual({});
  });

  it('counts changes by action, exporting every action from the first change', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.adminChange('drain');
    metrics.adminChange('drain');
    metrics.adminChange('weight');
    const expected = Object.fromEntries(
      ADMIN_ACTIONS.map((action) => [
        key('roundguard_admin_changes_total', { action }),
        action === 'drain' ? 2 : action === 'weight' ? 1 : 0,
      ]),
    );
    expect(await changes(metrics)).toEqual(expected);
  });

  it.each([['delete'], ['DRAIN'], [''], [undefined], [1]])(
    'throws ERR_METRICS_INVALID_LABEL for %j',
    (action) => {
      const metrics = createMetrics({ defaultMetrics: false });
      expect(() => metrics.adminChange(action as never)).toThrow(
        expect.objectContaining({ code: 'ERR_METRICS_INVALID_LABEL' }) as Error,
      );
    },
  );
});
