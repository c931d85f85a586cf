import { afterAll, describe, expect, it } from 'vitest';
import { startEcho, stopAllEchoes, type EchoProcess, type LogRecord } from './helpers/echo-process.js';
import { buildRequest, exchange, postJson } from './helpers/raw-http.js';

afterAll(stopAllEchoes);

/** The four probe requests, each with its own X-Request-Id so that its record (if any) can be found. */
const PROBES = [
  { method: 'GET', path: '/health', status: 200, id: 'probe-get-health' },
  { method: 'HEAD', path: '/health', status: 200, id: 'probe-head-health' },
  { method: 'GET', path: '/ready', status: 200, id: 'probe-get-ready' },
  { method: 'HEAD', path: '/ready', status: 200, id: 'probe-head-ready' },
] as const;

/**
 * Sends the probes, then a POST whose record is written after theirs (one request after the other on new
 * connections, and records go out in the order the responses are written): once the POST's record is read,
 * every probe record that was going to be written has been.
 */
async function probeThenMark(echo: EchoProcess, mark: string): Promise<LogRecord[]> {
  for (const probe of PROBES) {
    const response = await exchange(
      echo.port,
      buildRequest({ method: probe.method, path: probe.path, headers: { 'x-request-id': probe.id } }),
      { head: probe.method === 'HEAD' },
    );
    expect(response.status).toBe(probe.status);
  }
  await exchange(echo.port, postJson('{}', { 'x-request-id': mark }, '/after-probes'));
  await echo.waitForLog((r) => r.req_id === mark);
  return echo.logs.filter((r) => PROBES.some((p) => p.id === r.req_id));
}

/** `echo_http_requests_total{method=...,code=...}` from a scrape. */
function requestsTotal(text: string, method: string, code: number): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`echo_http_requests_total{method="${method}",code="${code}"} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('probe requests in the access log', () => {
  it('writes no info record for GET/HEAD /health and /ready, and still counts them in the metrics', async () => {
    const echo = await startEcho();
    const records = await probeThenMark(echo, 'mark-info');
    expect(records).toEqual([]);
    const scrape = await exchange(echo.port, buildRequest({ method: 'GET', path: '/metrics' }));
    const text = scrape.body.toString();
    // A fresh process: the two GET and two HEAD probes are the only requests answered 200 with those methods
    // (the scrape itself is counted once it has been answered).
    expect(requestsTotal(text, 'GET', 200)).toBe(2);
    expect(requestsTotal(text, 'HEAD', 200)).toBe(2);
    expect(requestsTotal(text, 'POST', 200)).toBe(1);
  });

  it('writes one debug "request completed" record per probe at --log-level debug', async () => {
    const echo = await startEcho(['--log-level', 'debug']);
    const records = await probeThenMark(echo, 'mark-debug');
    expect(records).toHaveLength(PROBES.length);
    for (const probe of PROBES) {
      const record = records.find((r) => r.req_id === probe.id);
      expect(record).toMatchObject({
        level: 'debug',
        msg: 'request completed',
        method: probe.method,
        path: probe.path,
        status: probe.status,
        client_ip: '127.0.0.1',
      });
    }
  });

  it('still logs at info what is not a probe: POST /health (echoed), DELETE /ready (405), GET /metrics', async () => {
    const echo = await startEcho();
    await exchange(echo.port, postJson('{"p":1}', { 'x-request-id': 'post-health' }, '/health'));
    await exchange(
      echo.port,
      buildRequest({ method: 'DELETE', path: '/ready', headers: { 'x-request-id': 'delete-ready' } }),
    );
    await exchange(
      echo.port,
      buildRequest({ method: 'GET', path: '/metrics', headers: { 'x-request-id': 'get-metrics' } }),
    );
    expect(await echo.waitForLog((r) => r.req_id === 'post-health')).toMatchObject({
      level: 'info',
      path: '/health',
      status: 200,
    });
    expect(await echo.waitForLog((r) => r.req_id === 'delete-ready')).toMatchObject({
      level: 'info',
      path: '/ready',
      status: 405,
      error_code: 'METHOD_NOT_ALLOWED',
    });
    expect(await echo.waitForLog((r) => r.req_id === 'get-metrics')).toMatchObject({
      level: 'info',
      path: '/metrics',
      status: 200,
    });
  });
});
