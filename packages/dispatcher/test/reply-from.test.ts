import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';
import { request } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { BalancedDispatcher } from '../src/index.js';
import { closeAll, refusedUrl, startServer } from './helpers/servers.js';

afterEach(closeAll);

it('serves as the undici dispatcher of @fastify/reply-from', async () => {
  const upstream = (name: string) =>
    startServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ name, method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }),
        );
      });
    });
  const [a, b] = await Promise.all([upstream('a'), upstream('b')]);
  const lb = new BalancedDispatcher({
    upstreams: [await refusedUrl(), a.url, b.url],
    healthCheck: false,
    retry: { attempts: 1 },
  });
  const app = Fastify();
  await app.register(replyFrom, { base: 'http://orders.internal', undici: lb });
  app.all('/orders/*', (req, reply) => reply.from(req.url));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const seen: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(`${address}/orders/${i}?q=${i}`, {
        method: 'POST',
        body: `order ${i}`,
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.statusCode).toBe(200);
      seen.push(await res.body.json());
    }
    expect(seen).toEqual([
      { name: 'a', method: 'POST', url: '/orders/0?q=0', body: 'order 0' },
      { name: 'b', method: 'POST', url: '/orders/1?q=1', body: 'order 1' },
      { name: 'a', method: 'POST', url: '/orders/2?q=2', body: 'order 2' },
      { name: 'b', method: 'POST', url: '/orders/3?q=3', body: 'order 3' },
    ]);
    expect(lb.status().map((s) => s.state)).toEqual(['down', 'up', 'up']);
    expect(a.hosts).toEqual(['orders.internal', 'orders.internal']);
  } finally {
    await app.close();
    await lb.close();
  }
});
