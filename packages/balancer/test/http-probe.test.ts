import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Balancer, HealthChecker, httpProbe, type HttpTarget, type ProbeEvent } from '../src/index.js';

interface Served {
  readonly url: string;
  readonly server: Server;
  /** Server-side sockets still open. */
  readonly sockets: Set<Socket>;
  /** Requests received, as `METHOD url`. */
  readonly requests: IncomingMessage[];
}

const servers: Server[] = [];
const checkers: HealthChecker<HttpTarget>[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Served> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, sockets, requests };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const tcpSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

async function expectNoSocketLeft(served: Served): Promise<void> {
  await expect.poll(() => served.sockets.size, { timeout: 5000 }).toBe(0);
  await expect.poll(tcpSockets, { timeout: 5000 }).toBe(0);
}

const target = (url: string, key = url): HttpTarget => ({ key, url });

afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.stop()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

describe('httpProbe', () => {
  it('is healthy on 200, after reading the whole body, with no socket left', async () => {
    let finished = false;
    const served = await serve((_req, res) => {
      res.on('finish', () => (finished = true));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(1 << 20));
    });
    const result = await httpProbe()(target(served.url), AbortSignal.timeout(5000));
    expect(result).toEqual({ ok: true });
    expect(finished).toBe(true);
    const [req] = served.requests;
    expect(req?.method).toBe('GET');
    expect(req?.url).toBe('/health');
    expect(req?.headers['user-agent']).toBe('roundguard-health-check');
    expect(req?.headers.connection).toBe('close');
    await expectNoSocketLeft(served);
  });

  it('requests the configured path with extra headers', async () => {
    const served = await serve((_req, res) => res.end('ok'));
    const probe = httpProbe({ path: '/ready?full=1', headers: { 'x-probe': 'yes' } });
    expect(await probe(target(`${served.url}/ignored/base`), AbortSignal.timeout(5000))).toEqual({
      ok: true,
    });
    expect(served.requests[0]?.url).toBe('/ready?full=1');
    expect(served.requests[0]?.headers['x-probe']).toBe('yes');
  });

  it.each([500, 503, 404, 204, 301])('fails with bad_status on %d', async (status) => {
    const served = await serve((_req, res) => {
      res.writeHead(status, status === 301 ? { location: '/health' } : {});
      res.end(status === 204 ? undefined : 'nope');
    });
    expect(await httpProbe()(target(served.url), AbortSignal.timeout(5000))).toEqual({
      ok: false,
      result: 'bad_status',
      error: `HTTP ${status}`,
    });
    await expectNoSocketLeft(served);
  });

  it('does not read the body of a failed answer: a never-ending 500 still settles at once', async () => {
    const served = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('partial'); // and never ends
    });
    const started = Date.now();
    expect(await httpProbe()(target(served.url), AbortSignal.timeout(5000))).toMatchObject({
      result: 'bad_status',
    });
    expect(Date.now() - started).toBeLessThan(4000);
    await expectNoSocketLeft(served);
  });

  it('times out on a server that never answers, through the signal', async () => {
    const served = await serve(() => {
      /* hang */
    });
    const result = await httpProbe()(target(served.url), AbortSignal.timeout(100));
    expect(result).toMatchObject({ ok: false, result: 'timeout' });
    await expectNoSocketLeft(served);
  });

  it('times out on a server that never answers, through its own timeoutMs', async () => {
    const served = await serve(() => {
      /* hang */
    });
    const result = await httpProbe({ timeoutMs: 100 })(target(served.url));
    expect(result).toEqual({ ok: false, result: 'timeout', error: 'timeout after 100 ms' });
    await expectNoSocketLeft(served);
  });

  it('fails with ECONNREFUSED when nothing listens', async () => {
    const port = await closedPort();
    const result = await httpProbe()(target(`http://127.0.0.1:${port}`), AbortSignal.timeout(5000));
    expect(result).toEqual({ ok: false, result: 'error', error: 'ECONNREFUSED' });
    await expect.poll(tcpSockets, { timeout: 5000 }).toBe(0);
  });

  it('fails when the socket is closed mid-response', async () => {
    const served = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(10));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const result = await httpProbe()(target(served.url), AbortSignal.timeout(5000));
    expect(result).toEqual({ ok: false, result: 'error', error: 'ECONNRESET' });
    await expectNoSocketLeft(served);
  });

  it('fails when a chunked response is cut', async () => {
    const served = await serve((_req, res) => {
      res.writeHead(200);
      res.write('chunk');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const result = await httpProbe()(target(served.url), AbortSignal.timeout(5000));
    expect(result).toEqual({ ok: false, result: 'error', error: 'ECONNRESET' });
  });

  it('fails when the socket is closed before any answer', async () => {
    const served = await serve((req) => req.socket.destroy());
    const result = await httpProbe()(target(served.url), AbortSignal.timeout(5000));
    expect(result).toEqual({ ok: false, result: 'error', error: 'ECONNRESET' });
  });

  it('waits for a slow body that arrives in time', async () => {
    const served = await serve((_req, res) => {
      res.writeHead(200);
      let n = 0;
      const tick = setInterval(() => {
        res.write(`part ${n}\n`);
        if (++n === 5) {
          clearInterval(tick);
          res.end();
        }
      }, 30);
    });
    expect(await httpProbe()(target(served.url), AbortSignal.timeout(5000))).toEqual({ ok: true });
  });

  it('times out on a body slower than the timeout', async () => {
    const served = await serve((_req, res) => {
      res.writeHead(200);
      const tick = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(tick));
    });
    const result = await httpProbe({ timeoutMs: 150 })(target(served.url));
    expect(result).toEqual({ ok: false, result: 'timeout', error: 'timeout after 150 ms' });
    await expectNoSocketLeft(served);
  });

  it('does not connect when the signal is already aborted', async () => {
    const served = await serve((_req, res) => res.end());
    expect(await httpProbe()(target(served.url), AbortSignal.abort())).toEqual({
      ok: false,
      result: 'error',
      error: 'aborted',
    });
    const timedOut = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await httpProbe()(target(served.url), timedOut)).toMatchObject({ ok: false, result: 'timeout' });
    expect(served.requests).toHaveLength(0);
  });

  it.each([
    ['an invalid url', 'not a url', 'invalid target url `"not a url"` (string)'],
    ['a non-HTTP url', 'ftp://127.0.0.1:21', 'unsupported protocol `"ftp:"` (string)'],
  ])('fails on %s without throwing', async (_name, url, error) => {
    expect(await httpProbe()(target(url), AbortSignal.timeout(1000))).toEqual({
      ok: false,
      result: 'error',
      error,
    });
  });

  it('leaves no socket behind after many probes', async () => {
    const served = await serve((req, res) => res.end(req.url === '/health' ? 'ok' : 'x'));
    const probe = httpProbe();
    const results = await Promise.all(
      Array.from({ length: 30 }, () => probe(target(served.url), AbortSignal.timeout(5000))),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    await expectNoSocketLeft(served);
  });

  it.each([
    [
      'a relative path',
      { path: 'health' },
      '`path` to be a string starting with `/`, got `"health"` (string)',
    ],
    [
      'timeoutMs 0',
      { timeoutMs: 0 },
      '`timeoutMs` to be a number of milliseconds from 1 to 2147483647, got `0` (number)',
    ],
    ['a non-string header', { headers: { 'x-n': 1 } }, '`headers.x-n` to be a string, got `1` (number)'],
    ['options that are not an object', 'x', '`options` to be an object'],
  ])('throws ERR_BALANCER_INVALID_OPTION for %s', (_name, options, message) => {
    expect(() => httpProbe(options as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_BALANCER_INVALID_OPTION',
        message: expect.stringContaining(message),
      }),
    );
  });
});

describe('HealthChecker with httpProbe and real servers', () => {
  it('takes a failing upstream out of rotation and brings it back at its first 200', async () => {
    let bStatus = 200;
    const a = await serve((_req, res) => res.end('ok'));
    const b = await serve((_req, res) => {
      res.statusCode = bStatus;
      res.end();
    });
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const balancer = new Balancer([target(a.url, 'a'), target(b.url, 'b'), target(dead, 'dead')]);
    const checker = new HealthChecker({
      balancer,
      probe: httpProbe(),
      intervalMs: 40,
      timeoutMs: 1000,
      jitterMs: 10,
    });
    checkers.push(checker);
    const events: string[] = [];
    checker.on('down', (e) => events.push(`down ${e.key} ${e.reason}`));
    checker.on('up', (e) => events.push(`up ${e.key}`));
    const probes: ProbeEvent<HttpTarget>[] = [];
    checker.on('probe', (e) => probes.push(e));
    checker.start();

    await expect.poll(() => balancer.isHealthy('dead'), { timeout: 5000 }).toBe(false);
    expect(events).toContain('down dead ECONNREFUSED');
    expect(new Set(Array.from({ length: 10 }, () => balancer.pick()?.key))).toEqual(new Set(['a', 'b']));

    bStatus = 500;
    await expect.poll(() => balancer.isHealthy('b'), { timeout: 5000 }).toBe(false);
    expect(Array.from({ length: 4 }, () => balancer.pick()?.key)).toEqual(['a', 'a', 'a', 'a']);
    bStatus = 200;
    await expect.poll(() => balancer.isHealthy('b'), { timeout: 5000 }).toBe(true);
    expect(events.filter((e) => e.includes(' b'))).toEqual(['down b HTTP 500', 'up b']);
    expect(probes.every((p) => p.durationMs >= 0 && p.durationMs < 1000)).toBe(true);

    await checker.stop();
    await expectNoSocketLeft(a);
    await expectNoSocketLeft(b);
  });

  it('stop() aborts a probe stuck on a hanging upstream and closes its socket', async () => {
    const hang = await serve(() => {
      /* never answers */
    });
    const balancer = new Balancer([target(hang.url)]);
    const checker = new HealthChecker({
      balancer,
      probe: httpProbe(),
      intervalMs: 1000,
      timeoutMs: 10_000,
      jitterMs: 0,
    });
    checkers.push(checker);
    checker.start();
    await expect.poll(() => hang.requests.length, { timeout: 5000 }).toBe(1);
    await checker.stop();
    expect(balancer.isHealthy(hang.url)).toBe(true);
    await expectNoSocketLeft(hang);
  });
});
