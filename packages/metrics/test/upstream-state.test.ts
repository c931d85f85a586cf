import { describe, expect, it } from 'vitest';
import { createMetrics, UPSTREAM_STATES, type ProxyMetrics, type UpstreamState } from '../src/index.js';
import { key, parseExposition, samplesWithPrefix } from './exposition.js';

const A = 'http://127.0.0.1:3001';
const B = 'http://127.0.0.1:3002';

async function scrape(metrics: ProxyMetrics): Promise<Record<string, number>> {
  return samplesWithPrefix(parseExposition(await metrics.registry.metrics()), 'roundguard_');
}

/** The five `upstream_state` samples of `upstream`, 1 for `current`. */
function stateSamples(upstream: string, current: UpstreamState): Record<string, number> {
  return Object.fromEntries(
    UPSTREAM_STATES.map((state) => [
      key('roundguard_upstream_state', { upstream, state }),
      state === current ? 1 : 0,
    ]),
  );
}

describe('UpstreamMetrics.setState', () => {
  it('exports all five states, 1 for the current one, with upstream_up and the ejection and retry counters at 0', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.upstream(A).setState('down');
    expect(await scrape(metrics)).toEqual({
      [key('roundguard_requests_in_flight', { upstream: A })]: 0,
      ...stateSamples(A, 'down'),
      [key('roundguard_upstream_up', { upstream: A })]: 0,
      [key('roundguard_upstream_ejections_total', { upstream: A })]: 0,
      [key('roundguard_retries_total', { upstream: A })]: 0,
    });
  });

  it.each(UPSTREAM_STATES.map((s) => [s]))(
    'moves the 1 to %s and sets upstream_up to 1 only for up',
    async (state) => {
      const metrics = createMetrics({ defaultMetrics: false });
      const up = metrics.upstream(A);
      up.setState(state === 'up' ? 'maint' : 'up');
      up.setState(state);
      const samples = await scrape(metrics);
      expect(samples).toMatchObject(stateSamples(A, state));
      expect(samples[key('roundguard_upstream_up', { upstream: A })]).toBe(state === 'up' ? 1 : 0);
    },
  );

  it('keeps upstreams apart', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.upstream(A).setState('ejected');
    metrics.upstream(B).setState('draining');
    const samples = await scrape(metrics);
    expect(samples).toMatchObject({ ...stateSamples(A, 'ejected'), ...stateSamples(B, 'draining') });
  });

  it('leaves setUp() working on its own, without exporting states', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.upstream(A).setUp(true);
    const samples = await scrape(metrics);
    expect(Object.keys(samples).filter((k) => k.startsWith('roundguard_upstream_state'))).toEqual([]);
    expect(samples[key('roundguard_upstream_up', { upstream: A })]).toBe(1);
  });
});

describe('UpstreamMetrics.ejected and retried', () => {
  it('count ejections and retries per upstream, from the first call on', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    a.ejected();
    a.ejected();
    a.retried();
    metrics.upstream(B).retried();
    const samples = await scrape(metrics);
    expect(samples).toEqual({
      [key('roundguard_requests_in_flight', { upstream: A })]: 0,
      [key('roundguard_requests_in_flight', { upstream: B })]: 0,
      [key('roundguard_upstream_ejections_total', { upstream: A })]: 2,
      [key('roundguard_retries_total', { upstream: A })]: 1,
      [key('roundguard_retries_total', { upstream: B })]: 1,
    });
  });

  it('count on from the zeros setState() exported', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = metrics.upstream(A);
    a.setState('up');
    a.ejected();
    a.setState('ejected');
    const samples = await scrape(metrics);
    expect(samples[key('roundguard_upstream_ejections_total', { upstream: A })]).toBe(1);
    expect(samples[key('roundguard_retries_total', { upstream: A })]).toBe(0);
    expect(samples).toMatchObject(stateSamples(A, 'ejected'));
  });
});

describe('removeUpstream with states, ejections and retries', () => {
  it('drops the series of the removed upstream only, and makes old handles ignore these calls', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (const url of [A, B]) {
      const up = metrics.upstream(url);
      up.setState('up');
      up.ejected();
      up.retried();
      up.setState('ejected');
    }
    const old = metrics.upstream(A);
    metrics.removeUpstream(A);
    old.setState('up');
    old.ejected();
    old.retried();
    const samples = await scrape(metrics);
    expect(Object.keys(samples).filter((k) => k.includes(A))).toEqual([]);
    expect(samples).toEqual({
      [key('roundguard_requests_in_flight', { upstream: B })]: 0,
      ...stateSamples(B, 'ejected'),
      [key('roundguard_upstream_up', { upstream: B })]: 0,
      [key('roundguard_upstream_ejections_total', { upstream: B })]: 1,
      [key('roundguard_retries_total', { upstream: B })]: 1,
    });
  });

  it('still validates the state on a detached handle', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const old = metrics.upstream(A);
    metrics.removeUpstream(A);
    expect(() => old.setState('gone' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_METRICS_INVALID_LABEL' }),
    );
  });
});
