// Upstream faults beyond errors.test.ts: an answer before the upload is over, keep-alive sockets the
// upstream closes while idle, one slow upstream among fast ones, malformed status lines and headers, and a
// connect that is never answered (a local black hole). Each case asserts the client's exact answer, what the
// upstream saw, and that the proxy still serves afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort, httpBackend, rawUpstream } from './helpers/backends.js';
import {
  getMetrics,
  getUpstreams,
  postJson,
  rawExchange,
  request,
  sleep,
  sumOf,
  waitFor,
  waitForHealth,
} from './helpers/http.js';
import { errorCodeOf, parseRaw } from './helpers/hardening.js';
import { NO_PROBES, startProxy, stopAllProcesses, type ProxyProcess } from './helpers/processes.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stopAllProcesses();
  await closeAllBackends();
});
afterAll(async () => {
  await stopAllProcesses();
  await closeAllBackends();
});

async function stillServes(proxy: ProxyProcess): Promise<void> {
  const upstreams = await getUpstreams(proxy.adminUrl);
  expect(upstreams.every((u) => u.inFlight === 0)).toBe(true);
  expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  expect(proxy.child.exitCode).toBeNull();
}

describe('an upstream that answers before the upload is over', () => {
  it.each([413, 200])(
    'passes an early %i to the client, closes the client connection after it, and is not wedged',
    async (status) => {
      let received = 0;
      const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
        if (req.url === '/ok') {
          req.resume();
          req.on('end', () => res.end('ok'));
          return;
        }
        req.on('data', (c: Buffer) => (received += c.length));
        res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('early');
      });
      const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
      const size = 16 * 1024 * 1024;
      // A raw client that keeps uploading until the proxy closes the connection.
      const data = await new Promise<string>((resolve) => {
        const socket = connect({ port: proxy.port, host: '127.0.0.1' });
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => socket.destroy(), 10_000);
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('latin1'));
        });
        socket.write(`POST /early HTTP/1.1\r\nhost: t\r\ncontent-length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let sent = 0;
        const pump = (): void => {
          while (sent < size && !socket.destroyed) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      const res = parseRaw(data);
      expect(res.status).toBe(status);
      expect(res.body).toBe('early');
      expect(res.headers.connection).toBe('close');
      // The upstream got the one request (not all of its body), once.
      expect(backend.count).toBe(1);
      expect(received).toBeLessThan(size);
      const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/early');
      expect(log).toMatchObject({ status, outcome: 'ok', upstream: backend.url });
      await waitFor(() => backend.inFlight === 0, 'the upstream request to be closed');
      const after = await request(`${proxy.url}/ok`, { method: 'POST', body: 'x' });
      expect(after.status).toBe(200);
      expect(after.text()).toBe('ok');
      await stillServes(proxy);
    },
  );
});

describe('an answer before the upload is over, to a client that reads only once it has sent its body', () => {
  // Most clients send the whole body before they read the answer. The proxy answers (here: the
  // upstream's early 413) and closes the connection while such a client is still sending: closed at
  // once, the socket would be reset by the kernel and the client's next write would fail before it read
  // the answer. The proxy closes in stages instead (FIN, then reads and drops the rest for a while).
  async function uploadThenRead(port: number, path: string, size: number, sendBody: Promise<void>) {
    return new Promise<{ data: string; error: string; ended: boolean }>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      const chunks: Buffer[] = [];
      let error = '';
      let ended = false;
      socket.on('end', () => (ended = true));
      const timer = setTimeout(() => socket.destroy(), 15_000);
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? 'error'));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ data: Buffer.concat(chunks).toString('latin1'), error, ended });
      });
      socket.pause(); // nothing is read until the whole body is sent
      // The head and a first chunk: the proxy streams a body this big, and sends the head with it.
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      socket.write(`POST ${path} HTTP/1.1\r\nhost: t\r\ncontent-length: ${size}\r\n\r\n`);
      socket.write(chunk);
      let sent = chunk.length;
      const pump = (): void => {
        while (sent < size && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.resume();
      };
      void sendBody.then(pump);
    });
  }

  it('gets the early answer (no reset), and the connection is closed after it', async () => {
    const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
      req.on('data', () => undefined);
      res.writeHead(413, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('early');
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const answered = proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/early');
    // The rest of the body is sent once the proxy has answered (and accounted) the request.
    const { data, error, ended } = await uploadThenRead(
      proxy.port,
      '/early',
      16 * 1024 * 1024,
      answered.then(() => undefined),
    );
    expect(error).toBe('');
    expect(ended, 'the proxy closed its side').toBe(true);
    const res = parseRaw(data);
    expect(res.status).toBe(413);
    expect(res.body).toBe('early');
    expect(res.headers.connection).toBe('close');
    expect(await answered).toMatchObject({ status: 413, outcome: 'ok', upstream: backend.url });
    await stillServes(proxy);
  });

  it('gets the 503 the proxy answers itself when no upstream is in rotation', async () => {
    const port = await closedPort();
    const proxy = await startProxy([
      '--upstream',
      `http://127.0.0.1:${port}`,
      '--health-interval',
      '200',
      '--health-timeout',
      '150',
    ]);
    await waitForHealth(proxy.adminUrl, `http://127.0.0.1:${port}`, false);
    const answered = proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/none');
    const { data, error } = await uploadThenRead(
      proxy.port,
      '/none',
      16 * 1024 * 1024,
      answered.then(() => undefined),
    );
    expect(error).toBe('');
    const res = parseRaw(data);
    expect(res.status).toBe(503);
    expect(errorCodeOf(res)).toBe('NO_HEALTHY_UPSTREAM');
    expect(res.headers.connection).toBe('close');
  });

  it('does not keep the connection of a client that never stops sending: it is closed within seconds', async () => {
    const backend = await httpBackend((req: IncomingMessage, res: ServerResponse) => {
      req.on('data', () => undefined);
      res.writeHead(413, { 'content-length': '5' }).end('early');
    });
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    // Half-open allowed: the proxy's FIN does not make this client stop.
    const socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    let ended = false;
    socket.on('end', () => (ended = true));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.write(`POST /endless HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000000\r\n\r\n`);
    socket.write(Buffer.alloc(64 * 1024, 0x61));
    await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/endless');
    const answeredAt = Date.now();
    // Keeps sending a little, forever (until the proxy closes the connection).
    const drip = setInterval(() => socket.write(Buffer.alloc(1024, 0x62)), 50);
    const closedAt = await closed;
    clearInterval(drip);
    expect(ended, 'the proxy closed its side first').toBe(true);
    expect(closedAt - answeredAt).toBeLessThan(10_000);
    expect(parseRaw(Buffer.concat(chunks).toString('latin1')).status).toBe(413);
    await stillServes(proxy);
  });
});

describe('keep-alive connections the upstream closes while idle', () => {
  /** Sends `n` requests one after another, `gap()` ms apart; returns the statuses. */
  async function spaced(proxy: ProxyProcess, n: number, gap: () => number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i > 0) await sleep(gap());
      statuses.push((await postJson(`${proxy.url}/spaced/${i}`, { i })).status);
    }
    return statuses;
  }

  it('never answers 502 to requests 1-1.5 s apart: a Node.js upstream with a 1 s keep-alive timeout, and one that closes after 1 s without saying so', async () => {
    // A: node:http with keepAliveTimeout 1 s (it announces `Keep-Alive: timeout=1`).
    const announced = createHttpServer({ keepAliveTimeout: 1000 }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('A'));
    });
    let announcedConnections = 0;
    announced.on('connection', () => announcedConnections++);
    await new Promise<void>((resolve) => announced.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          announced.closeAllConnections();
          announced.close(() => resolve());
        }),
    );
    // B: a raw server that keeps the connection alive without a Keep-Alive header and closes it after
    // 1 s of idleness, as many servers and load balancers do.
    let silentConnections = 0;
    const silentSockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      silentConnections++;
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
      socket.on('error', () => undefined);
      let idle: NodeJS.Timeout | undefined;
      let buffer = '';
      socket.on('data', (c: Buffer) => {
        clearTimeout(idle);
        buffer += c.toString('latin1');
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) break;
          const length = Number(/content-length: *(\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
          if (buffer.length < end + 4 + length) break;
          buffer = buffer.slice(end + 4 + length);
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nB');
        }
        idle = setTimeout(() => socket.end(), 1000);
      });
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of silentSockets) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const urlOf = (s: { address(): unknown }): string =>
      `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const [proxyA, proxyB] = await Promise.all([
      startProxy(['--upstream', urlOf(announced), ...NO_PROBES]),
      startProxy(['--upstream', urlOf(silent), ...NO_PROBES]),
    ]);
    const [statusesA, statusesB] = await Promise.all([
      spaced(proxyA, 8, () => 1000 + Math.random() * 500),
      // The server's close must reach the proxy before the next request does: a request sent in the
      // very millisecond the server closes cannot be told apart from a failure without retries (and
      // the proxy does not retry), so the gap starts a quarter second past the server's timeout.
      spaced(proxyB, 8, () => 1250 + Math.random() * 250),
    ]);
    expect(statusesA).toEqual(Array(8).fill(200));
    expect(statusesB).toEqual(Array(8).fill(200));
    // The upstreams did close the idle connections: the proxy opened new ones rather than fail.
    expect(announcedConnections).toBeGreaterThanOrEqual(2);
    expect(silentConnections).toBeGreaterThanOrEqual(2);
    for (const proxy of [proxyA, proxyB]) {
      const { samples } = await getMetrics(proxy.adminUrl);
      expect(sumOf(samples, 'roundguard_upstream_errors_total')).toBe(0);
      await stillServes(proxy);
    }
  });
});

describe('one slow upstream among fast ones', () => {
  it('does not slow the requests that go to the others', async () => {
    const fast = await Promise.all(
      ['fast-1', 'fast-2'].map((name) =>
        httpBackend((req, res) => {
          req.resume();
          res.writeHead(200, { 'x-name': name }).end(name);
        }),
      ),
    );
    const slow = await httpBackend((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'x-name': 'slow' }).end('slow'), 3000);
    });
    const proxy = await startProxy([
      '--upstream',
      slow.url,
      '--upstream',
      fast[0]!.url,
      '--upstream',
      fast[1]!.url,
      ...NO_PROBES,
    ]);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 9 }, async () => {
        const res = await request(`${proxy.url}/mixed`);
        return { name: String(res.headers['x-name']), status: res.status, ms: Date.now() - started };
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(9).fill(200));
    const slowOnes = results.filter((r) => r.name === 'slow');
    const fastOnes = results.filter((r) => r.name !== 'slow');
    expect(slowOnes).toHaveLength(3);
    expect(fastOnes).toHaveLength(6);
    for (const r of fastOnes) expect(r.ms, JSON.stringify(results)).toBeLessThan(1500);
    for (const r of slowOnes) expect(r.ms).toBeGreaterThanOrEqual(2900);
    // The slow upstream got its three requests at once (one connection each), not one after another.
    expect(Math.max(...slowOnes.map((r) => r.ms))).toBeLessThan(5500);
    await stillServes(proxy);
  });
});

describe('malformed upstream responses', () => {
  const variants: [string, string, string][] = [
    [
      'a status code that is not a number',
      'HTTP/1.1 abc OK\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    ['a two-digit status code', 'HTTP/1.1 99 Low\r\ncontent-length: 2\r\n\r\nok', 'HPE_INVALID_RESPONSE'],
    ['a four-digit status code', 'HTTP/1.1 1000 Big\r\ncontent-length: 2\r\n\r\nok', 'HPE_INVALID_RESPONSE'],
    ['a status code over 599', 'HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\nok', 'INVALID_RESPONSE'],
    ['status code 999', 'HTTP/1.1 999 Odd\r\ncontent-length: 2\r\n\r\nok', 'INVALID_RESPONSE'],
    ['an HTTP/0.9 answer (no status line)', 'ok\r\n', 'HPE_INVALID_RESPONSE'],
    [
      'a header name with a space',
      'HTTP/1.1 200 OK\r\nbad header: x\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'a space before the colon',
      'HTTP/1.1 200 OK\r\nx-a : b\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    ['an empty header name', 'HTTP/1.1 200 OK\r\n: b\r\ncontent-length: 2\r\n\r\nok', 'HPE_INVALID_RESPONSE'],
    [
      'NUL in a header value',
      'HTTP/1.1 200 OK\r\nx-a: a\x00b\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'DEL in a header value',
      'HTTP/1.1 200 OK\r\nx-a: a\x7fb\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'a bare CR in a header value',
      'HTTP/1.1 200 OK\r\nx-a: a\rb\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'an obs-folded header',
      'HTTP/1.1 200 OK\r\nx-a: a\r\n b\r\ncontent-length: 2\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    ['bare LF line ends', 'HTTP/1.1 200 OK\ncontent-length: 2\n\nok', 'HPE_INVALID_RESPONSE'],
    [
      'a Content-Length that is not a number',
      'HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\nok',
      'HPE_INVALID_RESPONSE',
    ],
    [
      'two different Content-Length headers',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    ],
    [
      'a 100 KiB header',
      `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(100_000)}\r\ncontent-length: 2\r\n\r\nok`,
      'UND_ERR_HEADERS_OVERFLOW',
    ],
    [
      '101 Switching Protocols to a plain request',
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
      'UND_ERR_SOCKET',
    ],
  ];

  it('answers each with 502 UPSTREAM_ERROR and a bounded reason, keeps the upstream in rotation, and still serves', async () => {
    const upstream = await rawUpstream((conn) => {
      const name = decodeURIComponent(conn.head.split(' ')[1]!.slice(1));
      const variant = variants.find(([n]) => n === name);
      if (variant === undefined)
        return void conn.socket.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfine');
      conn.socket.end(Buffer.from(variant[1], 'latin1'));
    });
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    for (const [name, , reason] of variants) {
      const { data } = await rawExchange(
        proxy.port,
        `GET /${encodeURIComponent(name)} HTTP/1.1\r\nhost: t\r\nx-request-id: v-${variants.findIndex(([n]) => n === name)}\r\nconnection: close\r\n\r\n`,
        5000,
      );
      const res = parseRaw(data);
      expect(res.status, name).toBe(502);
      expect(errorCodeOf(res), name).toBe('UPSTREAM_ERROR');
      const id = `v-${variants.findIndex(([n]) => n === name)}`;
      const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.req_id === id);
      expect(log, name).toMatchObject({
        status: 502,
        outcome: 'upstream_error',
        error_code: reason,
        level: 'warn',
      });
    }
    // Sent once each: no retries.
    expect(upstream.connections).toHaveLength(variants.length);
    const { samples } = await getMetrics(proxy.adminUrl);
    expect(sumOf(samples, 'roundguard_upstream_errors_total')).toBe(variants.length);
    expect(sumOf(samples, 'roundguard_upstream_errors_total', { reason: 'UNKNOWN' })).toBe(0);
    // A malformed answer is not a connect failure: the upstream stays in rotation and serves on.
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ healthy: true, inFlight: 0 });
    const ok = await request(`${proxy.url}/fine`);
    expect(ok.status).toBe(200);
    expect(ok.text()).toBe('fine');
  });

  it('forwards the tolerable oddities: no reason phrase, a 103 before the answer, obs-text in a value', async () => {
    const answers: Record<string, string> = {
      '/no-reason': 'HTTP/1.1 200\r\ncontent-length: 2\r\n\r\nok',
      '/early-hints':
        'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
      '/obs-text': 'HTTP/1.1 200 OK\r\nx-latin: caf\xe9\r\ncontent-length: 2\r\n\r\nok',
    };
    const upstream = await rawUpstream((conn) =>
      conn.socket.end(Buffer.from(answers[conn.head.split(' ')[1]!]!, 'latin1')),
    );
    const proxy = await startProxy(['--upstream', upstream.url, ...NO_PROBES]);
    for (const path of Object.keys(answers)) {
      const { data } = await rawExchange(
        proxy.port,
        `GET ${path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`,
      );
      const res = parseRaw(data);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toBe('ok');
      // Interim responses are not forwarded (Node.js answers 100-continue itself; others are dropped).
      expect(res.statusLines, path).toHaveLength(1);
      if (path === '/obs-text') expect(res.headers['x-latin']).toBe('caf\xe9');
    }
    await stillServes(proxy);
  });
});

/** Resolves 'hangs' when a TCP connect to host:port is still pending after `ms`, else how it ended. */
function connectOutcome(host: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('hangs');
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'error');
    });
  });
}

/**
 * A loopback port whose connects hang: a child process listens on it with the smallest accept queue and
 * then blocks its event loop, so it never accepts. Once the queue is full (a connection or two), the
 * kernel drops further SYNs and the next connect waits: a local, deterministic black hole.
 */
async function unacceptingListener(): Promise<number> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         require('node:fs').writeSync(1, s.address().port + '\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  return new Promise<number>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
  );
}

describe('a connect that is never answered', () => {
  async function expectConnectTimeout(url: string): Promise<void> {
    const proxy = await startProxy(['--upstream', url, '--connect-timeout', '500', ...NO_PROBES]);
    const started = Date.now();
    const res = await postJson(`${proxy.url}/blackhole`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(502);
    expect(res.json()).toEqual({ error: { code: 'UPSTREAM_ERROR', message: expect.any(String) } });
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(5000);
    const log = await proxy.waitForRecord((r) => r.msg === 'request completed' && r.path === '/blackhole');
    expect(log).toMatchObject({
      status: 502,
      outcome: 'upstream_error',
      error_code: 'UND_ERR_CONNECT_TIMEOUT',
    });
    // A connect timeout takes the upstream out of rotation until its next good probe.
    expect((await getUpstreams(proxy.adminUrl))[0]).toMatchObject({ healthy: false, inFlight: 0 });
    const next = await postJson(`${proxy.url}/next`);
    expect(next.status).toBe(503);
    expect((await request(`${proxy.adminUrl}/healthz`)).status).toBe(200);
  }

  it('answers 502 after --connect-timeout to a listener whose accept queue is full', async () => {
    const port = await unacceptingListener();
    // Each connect that completes (the probe closes it at once) stays in the never-accepted queue.
    let outcome = '';
    for (let i = 0; i < 5 && outcome !== 'hangs'; i++) outcome = await connectOutcome('127.0.0.1', port, 300);
    expect(outcome, 'the full accept queue should make connects hang').toBe('hangs');
    await expectConnectTimeout(`http://127.0.0.1:${port}`);
  });
});
