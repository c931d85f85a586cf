// The dashboard's formatting of one row: numbers as the page shows them, probe ages, unknown states, and
// the sparkline's points.
import { describe, expect, it } from 'vitest';
import { escapeHtml, stateSummary } from '../../src/dashboard/page.js';
import { dashboardRow, formatAge, formatMs, formatRate, formatShare } from '../../src/dashboard/rows.js';
import type { UpstreamTraffic } from '../../src/dashboard/traffic-history.js';

describe('formatting', () => {
  it.each([
    [0, '0'],
    [0.2, '0.2'],
    [9.94, '9.9'],
    [12.4, '12'],
    [999.4, '999'],
    [4123, '4.1k'],
    [25_600, '26k'],
  ])('shows %d req/s as %s', (v, text) => expect(formatRate(v)).toBe(text));

  it.each([
    [null, '–'],
    [0, '0 %'],
    [0.0004, '<0.1 %'],
    [0.025, '2.5 %'],
    [0.4, '40 %'],
    [1, '100 %'],
  ])('shows an error share of %s as %s', (v, text) => expect(formatShare(v)).toBe(text));

  it.each([
    [null, '–'],
    [0.05, '0.05 ms'],
    [0.423, '0.42 ms'],
    [3.14, '3.1 ms'],
    [87.4, '87 ms'],
    [1250, '1.25 s'],
  ])('shows %s ms as %s', (v, text) => expect(formatMs(v)).toBe(text));

  it.each([
    [0, 'just now'],
    [999, 'just now'],
    [4500, '4 s ago'],
    [185_000, '3 min ago'],
    [7_300_000, '2 h ago'],
  ])('shows a probe %d ms old as %s', (v, text) => expect(formatAge(v)).toBe(text));

  it('escapes the five HTML specials and nothing else', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp; é</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp; é&lt;/a&gt;',
    );
  });
});

describe('dashboardRow', () => {
  const traffic: UpstreamTraffic = {
    requestsPerSecond: 12.4,
    requestsLastMinute: 800,
    errorsLastMinute: 20,
    errorShare: 0.025,
    p50Ms: 3.14,
    p99Ms: 87.4,
    sparkline: Array.from({ length: 60 }, (_, i) => (i === 30 ? 10 : i === 59 ? 5 : 0)),
  };
  const now = Date.parse('2026-12-02T10:00:10.000Z');

  it('joins the status with its traffic and formats every value', () => {
    const row = dashboardRow(
      {
        name: 'a:1',
        url: 'http://a:1',
        state: 'draining',
        weight: 3,
        inFlight: 2,
        lastProbe: {
          at: '2026-12-02T10:00:06.000Z',
          ok: false,
          result: 'timeout',
          error: 'no answer in 1000 ms',
        },
      },
      traffic,
      now,
    );
    expect(row).toMatchObject({
      name: 'a:1',
      state: 'draining',
      stateClass: 'draining',
      weight: 3,
      inFlight: 2,
      lastProbe: {
        at: '2026-12-02T10:00:06.000Z',
        ok: false,
        result: 'timeout',
        error: 'no answer in 1000 ms',
      },
      text: {
        weight: '3',
        inFlight: '2',
        rps: '12',
        errors: '2.5 %',
        errorsTitle: '20 of 800 requests in the last minute',
        p50: '3.1 ms',
        p99: '87 ms',
        probe: 'timeout · 4 s ago',
        probeTitle: '2026-12-02T10:00:06.000Z: no answer in 1000 ms',
        spark: 'req/s over the last 5 minutes, peak 10',
      },
    });
    const points = row.sparkPoints.split(' ').map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(60);
    expect(points[0]).toEqual([0, 23]); // zero at the bottom
    expect(points[30]).toEqual([61, 1]); // the peak at the top
    expect(points[59]).toEqual([120, 12]); // half the peak half way
  });

  it('takes probe times as epoch milliseconds or Dates, and defaults the result word', () => {
    const base = { name: 'a', url: 'u', state: 'up' as const, weight: 1, inFlight: 0 };
    expect(
      dashboardRow({ ...base, lastProbe: { at: now - 2000, ok: true } }, undefined, now).text.probe,
    ).toBe('ok · 2 s ago');
    expect(
      dashboardRow({ ...base, lastProbe: { at: new Date(now - 61_000), ok: false } }, undefined, now).text
        .probe,
    ).toBe('failed · 1 min ago');
    expect(
      dashboardRow({ ...base, lastProbe: { at: 'garbage', ok: true } }, undefined, now).text,
    ).toMatchObject({
      probe: 'ok',
      probeTitle: 'time unknown',
    });
    expect(dashboardRow({ ...base, lastProbe: null }, undefined, now).text.probe).toBe('none yet');
  });

  it('shows an unknown state as its word with the neutral colour, and numbers that are none as 0', () => {
    const row = dashboardRow(
      {
        name: 'a',
        url: 'u',
        state: 'warming' as 'up',
        weight: Number.NaN,
        inFlight: undefined as unknown as number,
      },
      undefined,
      now,
    );
    expect(row).toMatchObject({ state: 'warming', stateClass: 'unknown', weight: 0, inFlight: 0 });
    expect(row.text).toMatchObject({ rps: '0', errors: '–', p50: '–', p99: '–' });
    expect(row.sparkPoints.split(' ').every((p) => p.endsWith(',23'))).toBe(true);
  });

  it('sums the states in the summary line, known states first in their order', () => {
    const rows = ['down', 'up', 'warming', 'up', 'maint'].map((state, i) =>
      dashboardRow(
        { name: String(i), url: 'u', state: state as 'up', weight: 1, inFlight: 0 },
        undefined,
        now,
      ),
    );
    expect(stateSummary(rows)).toBe('5 upstreams: 2 up, 1 down, 1 maint, 1 warming');
    expect(stateSummary(rows.slice(1, 2))).toBe('1 upstream: 1 up');
    expect(stateSummary([])).toBe('No upstreams.');
  });
});
