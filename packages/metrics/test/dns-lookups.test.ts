import { describe, expect, it } from 'vitest';
import { createMetrics, DNS_LOOKUP_RESULTS, type ProxyMetrics } from '../src/index.js';
import { key, parseExposition, samplesWithPrefix } from './exposition.js';

const NAME = 'echo.default.svc.cluster.local';
const SRV = '_http._tcp.echo.internal';

async function lookups(metrics: ProxyMetrics): Promise<Record<string, number>> {
  return samplesWithPrefix(parseExposition(await metrics.registry.metrics()), 'roundguard_dns_lookups_total');
}

function lookupSamples(name: string, counts: readonly [number, number, number]): Record<string, number> {
  return Object.fromEntries(
    DNS_LOOKUP_RESULTS.map((result, i) => [
      key('roundguard_dns_lookups_total', { name, result }),
      counts[i]!,
    ]),
  );
}

describe('ProxyMetrics.dnsLookup', () => {
  it('exports nothing before the first lookup', async () => {
    expect(await lookups(createMetrics({ defaultMetrics: false }))).toEqual({});
  });

  it('counts lookups by name and result, exporting all three results from the first lookup of a name', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.dnsLookup(NAME, 'ok');
    expect(await lookups(metrics)).toEqual(lookupSamples(NAME, [1, 0, 0]));
    metrics.dnsLookup(NAME, 'ok');
    metrics.dnsLookup(NAME, 'error');
    metrics.dnsLookup(SRV, 'empty');
    expect(await lookups(metrics)).toEqual({
      ...lookupSamples(NAME, [2, 0, 1]),
      ...lookupSamples(SRV, [0, 1, 0]),
    });
  });

  it('accepts names of up to 253 characters, with a trailing dot', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long).toHaveLength(253);
    metrics.dnsLookup(long, 'ok');
    metrics.dnsLookup('echo.internal.', 'ok');
    const samples = await lookups(metrics);
    expect(samples[key('roundguard_dns_lookups_total', { name: long, result: 'ok' })]).toBe(1);
    expect(samples[key('roundguard_dns_lookups_total', { name: 'echo.internal.', result: 'ok' })]).toBe(1);
  });
});

describe('ProxyMetrics.removeDnsName', () => {
  it('drops the series of that name only; a later lookup starts from zero', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.dnsLookup(NAME, 'ok');
    metrics.dnsLookup(SRV, 'error');
    metrics.removeDnsName(NAME);
    expect(await lookups(metrics)).toEqual(lookupSamples(SRV, [0, 0, 1]));
    metrics.dnsLookup(NAME, 'empty');
    expect(await lookups(metrics)).toEqual({
      ...lookupSamples(SRV, [0, 0, 1]),
      ...lookupSamples(NAME, [0, 1, 0]),
    });
  });

  it('ignores unknown names', () => {
    expect(() => createMetrics({ defaultMetrics: false }).removeDnsName('nowhere.internal')).not.toThrow();
  });
});
