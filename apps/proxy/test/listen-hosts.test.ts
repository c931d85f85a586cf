// Several listen addresses (`--host` repeated): the proxy answers on each, on one port, alone and with
// workers; the drain stops accepting on all of them; an address it cannot listen on stops the start.
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends, httpBackend } from './helpers/backends.js';
import { request, waitFor } from './helpers/http.js';
import { NO_PROBES, spawnProxy, startProxy, stopAllProcesses } from './helpers/processes.js';

const servers: Server[] = [];

afterEach(async () => {
  await stopAllProcesses();
  await closeAllBackends();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** Whether this machine has an IPv6 loopback address to listen on. */
function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

const ipv6 = await hasIpv6Loopback();
if (!ipv6) console.warn('no IPv6 loopback (::1) on this machine: the second address is 127.0.0.2');
/** The second address: ::1 where there is one, another IPv4 loopback address otherwise. */
const SECOND = ipv6 ? '::1' : '127.0.0.2';
const secondUrl = (port: number): string => `http://${ipv6 ? '[::1]' : SECOND}:${port}`;

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

async function echoBackend() {
  return httpBackend((req, res) => {
    req.resume();
    res.end(`via ${req.socket.localAddress}`);
  });
}

describe.each([
  ['one process', []],
  ['--workers 2', ['--workers', '2']],
] as const)('--host given twice (%s)', (_name, extraArgs) => {
  it('answers on both addresses on one port, logs both, and stops accepting on both when it drains', async () => {
    const backend = await echoBackend();
    const proxy = await startProxy(
      [
        ...['--host', '127.0.0.1', '--host', SECOND, '--port', '0', '--admin-port', '0'],
        ...['--log-format', 'json', '--upstream', backend.url, ...NO_PROBES, ...extraArgs],
      ],
      { defaults: false },
    );
    expect(proxy.listening.addresses).toEqual([
      `127.0.0.1:${proxy.port}`,
      `${secondUrl(proxy.port).slice(7)}`,
    ]);
    const first = await request(`${proxy.url}/a`);
    const second = await request(`${secondUrl(proxy.port)}/b`);
    expect([first.status, second.status]).toEqual([200, 200]);
    // Both reached the one upstream through the proxy: the access log has one record per address.
    await waitFor(() => proxy.accessLog().length === 2, 'two access records');
    const clients = proxy.accessLog().map((r) => r.client_ip);
    expect(clients).toEqual(['127.0.0.1', SECOND]);

    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toEqual({ code: 0, signal: null });
    expect(await tryConnect('127.0.0.1', proxy.port)).toBe('ECONNREFUSED');
    expect(await tryConnect(SECOND, proxy.port)).toBe('ECONNREFUSED');
  });
});

it('exits 1 with "cannot listen" when the second address is taken on that port', async () => {
  const backend = await echoBackend();
  // Take a port on the second address, then ask the proxy for that port on both.
  const squatter = createServer();
  servers.push(squatter);
  await new Promise<void>((resolve) => squatter.listen(0, SECOND, resolve));
  const port = (squatter.address() as { port: number }).port;
  const proxy = spawnProxy([
    ...['--host', '127.0.0.1', '--host', SECOND, '--port', String(port), '--admin-port', '0'],
    ...['--log-format', 'json', '--upstream', backend.url, ...NO_PROBES],
  ]);
  const record = await proxy.waitForRecord((r) => r.msg === 'cannot listen');
  expect(record.level).toBe('error');
  expect(await proxy.exited).toEqual({ code: 1, signal: null });
});
