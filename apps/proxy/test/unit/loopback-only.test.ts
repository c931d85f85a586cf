import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../helpers/loopback.js';

describe('tests connect to loopback only', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('local'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost'])(
    '%s is loopback',
    (host) => expect(isLoopback(host)).toBe(true),
  );

  it.each(['10.255.255.1', '0.0.0.0', '128.0.0.1', '::', '::ffff:10.0.0.1', 'example.com', '1.1.1.1'])(
    '%s is not',
    (host) => expect(isLoopback(host)).toBe(false),
  );

  // The guard is the vitest setup file (test/helpers/loopback-only.ts): this file does not load it itself.
  it('refuses a connection to any other address before it is opened', () => {
    // 0.0.0.0 reaches this host on Linux, so even without the guard nothing would leave the machine.
    expect(() => connect({ host: '0.0.0.0', port })).toThrow(/loopback only/);
    expect(() => connect(port, '0.0.0.0')).toThrow(/loopback only/);
  });

  it('lets connections to loopback through, node:http included', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(body).toBe('local');
  });
});
