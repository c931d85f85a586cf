import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEchoServer, type EchoServer } from '../src/server.js';
import { buildRequest, exchange, json, postJson, RawClient } from './helpers/raw-http.js';

const records: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
const logger = {
  error: (msg: string, fields?: Record<string, unknown>) => records.push({ level: 'error', msg, fields }),
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

  it('writes the responses decided in one loop turn at its end, all of them, each on its connection', async () => {
    const port = await start();
    records.length = 0;
    const seenAtEnd: { headersSent: boolean; inFlight: number }[] = [];
    // Runs right after echo's own 'end' listener, which decides the 200.
    (echo as EchoServer).server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      req.on('end', () =>
        seenAtEnd.push({ headersSent: res.headersSent, inFlight: echo?.handler.inFlight ?? -1 }),
      );
    });
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(port)));
    await Promise.all(clients.map((c, i) => c.write(postJson(`{"n":${i}}`))));
    const responses = await Promise.all(clients.map((c) => c.readResponse()));
    for (const c of clients) c.destroy();
    expect(responses.map((r) => [r.status, json(r)])).toEqual(clients.map((_, i) => [200, { n: i }]));
    expect(seenAtEnd).toHaveLength(20);
    // Decided but not yet written, and still counted in flight (a shutdown waits for it).
    expect(seenAtEnd.every((s) => !s.headersSent && s.inFlight >= 1)).toBe(true);
    expect(records.filter((r) => r.msg === 'request completed')).toHaveLength(20);
    expect((echo as EchoServer).handler.inFlight).toBe(0);
  });

  it('writes a response decided earlier in the turn before the error for bytes that follow it', async () => {
    const port = await start();
    // As when a good request and then garbage arrive in two reads of one turn: Node reports the garbage
    // (clientError) while the good request's 200 still waits for the end of the turn.
    (echo as EchoServer).server.on('request', (req: IncomingMessage) => {
      req.on('end', () => {
        const err = Object.assign(new Error('Invalid method encountered'), { code: 'HPE_INVALID_METHOD' });
        echo?.server.emit('clientError', err, req.socket);
      });
    });
    const client = await RawClient.connect(port);
    await client.write(postJson('{"first":true}'));
    const first = await client.readResponse();
    const second = await client.readResponse();
    expect([first.status, json(first)]).toEqual([200, { first: true }]);
    expect([second.status, (json(second) as { error: { code: string } }).error.code]).toEqual([
      400,
      'BAD_REQUEST',
    ]);
    await client.waitEnded();
    client.destroy();
  });

  it('logs 499 and writes nothing when the client is gone before the end of the turn', async () => {
    const port = await start();
    records.length = 0;
    finished.length = 0;
    (echo as EchoServer).server.on('request', (req: IncomingMessage) => {
      req.on('end', () => req.socket.destroy());
    });
    const client = await RawClient.connect(port);
    await client.write(postJson('{"x":1}', {}, '/gone'));
    await new Promise((resolve) => client.socket.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.pending.length).toBe(0);
    const completed = records.filter((r) => r.msg === 'request completed');
    expect(completed.map((r) => [r.fields?.path, r.fields?.status, r.fields?.error_code])).toEqual([
      ['/gone', 499, 'CLIENT_CLOSED_REQUEST'],
    ]);
    expect(finished).toEqual([['POST', 499]]);
    expect((echo as EchoServer).handler.inFlight).toBe(0);
  });
});
