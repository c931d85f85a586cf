// Real HTTP upstreams on 127.0.0.1, port 0, for the tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`, the upstream's default name. */
  readonly name: string;
  /** Requests answered, by path (health probes included). */
  readonly hits: { total: number; health: number; traffic: number };
  /** Host headers of the traffic requests, in order. */
  readonly hosts: string[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const open = new Set<TestServer>();

/**
 * Starts an HTTP server (on 127.0.0.1 and a free port unless told otherwise); `/health` answers 200
 * unless `health` is given.
 */
export async function startServer(
  handler: Handler,
  options: { health?: Handler; host?: string; port?: number } = {},
): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const hits = { total: 0, health: 0, traffic: 0 };
  const hosts: string[] = [];
  const server = createServer((req, res) => {
    hits.total++;
    if (req.url === '/health') {
      hits.health++;
      if (options.health !== undefined) options.health(req, res);
      else res.end('ok');
      return;
    }
    hits.traffic++;
    hosts.push(req.headers.host ?? '');
    handler(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const test: TestServer = {
    server,
    port,
    url: `http://${hostPort}`,
    name: hostPort,
    hits,
    hosts,
    close: () =>
      new Promise<void>((resolve) => {
        open.delete(test);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  open.add(test);
  return test;
}

/** Closes every server still open (for `afterEach`). */
export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((s) => s.close()));
}

const answerWithName =
  (name: string): Handler =>
  (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('x-upstream', name);
      res.end(name);
    });
  };

/** Answers 200 with its name as the body, and an `x-upstream` header. */
export function okServer(name: string, where: { host?: string; port?: number } = {}): Promise<TestServer> {
  return startServer(answerWithName(name), where);
}

/**
 * One {@link okServer} on each address, all on the same port (as the addresses behind one DNS name);
 * each is named after its address.
 */
export async function sameportServers(hosts: readonly string[]): Promise<TestServer[]> {
  for (let attempt = 0; ; attempt++) {
    const started = [await okServer(hosts[0] as string, { host: hosts[0] })];
    try {
      for (const host of hosts.slice(1)) started.push(await okServer(host, { host, port: started[0]?.port }));
      return started;
    } catch (err) {
      // The port was taken on one of the other addresses: try another one.
      await Promise.all(started.map((s) => s.close()));
      if (attempt >= 4) throw err;
    }
  }
}

/** Whether this machine can listen on ::1. */
export async function hasIpv6Loopback(): Promise<boolean> {
  try {
    const s = await startServer(() => undefined, { host: '::1' });
    await s.close();
    return true;
  } catch {
    return false;
  }
}

/** Answers 500 to traffic (its health check passes: only outlier detection can tell). */
export function errorServer(): Promise<TestServer> {
  return startServer((req, res) => {
    req.resume();
    res.statusCode = 500;
    res.end('boom');
  });
}

/** Answers 200 after `delayMs`. */
export function slowServer(name: string, delayMs: number): Promise<TestServer> {
  return startServer((req, res) => {
    req.resume();
    const timer = setTimeout(() => {
      res.setHeader('x-upstream', name);
      res.end(name);
    }, delayMs);
    res.on('close', () => clearTimeout(timer));
  });
}

/** A loopback URL on which nothing listens (connections are refused). */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Resolves once `predicate()` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
