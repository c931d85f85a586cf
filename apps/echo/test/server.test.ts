import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEchoServer, type EchoServer } from '../src/server.js';
import { buildRequest, exchange, json, postJson } from './helpers/raw-http.js';

const records: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
const logger = {
  info: (msg: string, fields?: Record<string, unknown>) => records.push({ level: 'info', msg, fields }),
  debug: (msg: string, fields?: Record<string, unknown>) => records.push({ level: 'debug', msg, fields }),
  isLevelEnabled: () => true,
};
const finished: [string, number][] = [];
let started = 0;
const metrics = {
  requestStarted: () => void started++,
  requestFinished: (method: string, status: number) => void finished.push([method, status]),
};

let echo: EchoServer | undefined;
afterEach(async () => {
  if (echo) await new Promise((resolve) => echo?.server.close(resolve));
  echo?.server.closeAllConnections();
  echo = undefined;
});

async function start(): Promise<number> {
  echo = createEchoServer({
    port: 0,
    host: '127.0.0.1',
    name: undefined,
    maxBody: 100,
    requestTimeout: 5000,
    logger,
    metrics,
    serveMetrics: (_req, res) => res.end('metrics'),
  });
  const { port, name } = await echo.listen();
  expect(name).toBe(`echo-${(echo.server.address() as AddressInfo).port}`);
  return port;
}

describe('createEchoServer (in process)', () => {
  it('answers /ready 503 {"status":"draining"} and closes every connection once draining', async () => {
    const port = await start();
    expect((await exchange(port, buildRequest({ method: 'GET', path: '/ready' }))).status).toBe(200);
    (echo as EchoServer).handler.draining = true;
    const ready = await exchange(port, buildRequest({ method: 'GET', path: '/ready' }));
    expect(ready.status).toBe(503);
    expect(json(ready)).toEqual({ status: 'draining' });
    expect(ready.headers.connection).toBe('close');
    const echoed = await exchange(port, postJson('{"x":1}'));
    expect(echoed.status).toBe(200);
    expect(echoed.headers.connection).toBe('close');
  });

  it('pairs every requestStarted with one requestFinished and one access record', async () => {
    const port = await start();
    started = 0;
    finished.length = 0;
    records.length = 0;
    await exchange(port, postJson('{"x":1}', {}, '/a'));
    await exchange(port, postJson('nope', {}, '/b'));
    await exchange(port, buildRequest({ method: 'DELETE', path: '/c' }));
    await exchange(port, buildRequest({ method: 'GET', path: '/metrics' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toBe(4);
    expect(finished).toEqual([
      ['POST', 200],
      ['POST', 400],
      ['DELETE', 405],
      ['GET', 200],
    ]);
    expect(records.filter((r) => r.msg === 'request completed').map((r) => r.fields?.path)).toEqual([
      '/a',
      '/b',
      '/c',
      '/metrics',
    ]);
    expect((echo as EchoServer).handler.inFlight).toBe(0);
  });
});
