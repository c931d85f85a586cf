import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BalancedDispatcher, type BalancedDispatcherOptions, type RetryEvent } from '../src/index.js';
import { closeAll, okServer, refusedUrl, startServer } from './helpers/servers.js';

const dispatchers: { destroy(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.destroy()));
  await closeAll();
});

function balanced(options: Omit<BalancedDispatcherOptions, 'healthCheck' | 'outlierDetection'>) {
  const lb = new BalancedDispatcher({ healthCheck: false, outlierDetection: false, ...options });
  dispatchers.push(lb);
  const retries: RetryEvent[] = [];
  lb.on('retry', (e) => retries.push(e));
  return { lb, retries };
}

async function get(lb: Dispatcher, body?: Readable): Promise<string> {
  const res = await request('http://x.internal/', { dispatcher: lb, method: body ? 'POST' : 'GET', body });
  return `${res.statusCode} ${await res.body.text()}`;
}

describe('retries', () => {
  it('are off by default: a connect failure fails the request, sent once', async () => {
    const refused = await refusedUrl();
    const ok = await okServer('ok');
    const { lb, retries } = balanced({ upstreams: [refused, ok.url] });
    await expect(get(lb)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(ok.hits.traffic).toBe(0);
    expect(lb.status().map((s) => s.requests)).toEqual([1, 0]);
    expect(retries).toEqual([]);
    expect(await get(lb)).toBe('200 ok');
  });

  it('send a request that could not connect to the next upstream, and say so', async () => {
    const refused = await refusedUrl();
    const ok = await okServer('ok');
    const { lb, retries } = balanced({ upstreams: [refused, ok.url], retry: { attempts: 1 } });
    expect(await get(lb)).toBe('200 ok');
    expect(
      retries.map((r) => [r.upstream.url, r.next.url, r.attempt, (r.error as { code?: string }).code]),
    ).toEqual([[refused, ok.url, 1, 'ECONNREFUSED']]);
    expect(lb.status().map((s) => [s.state, s.requests, s.failures, s.inFlight])).toEqual([
      ['down', 1, 1, 0],
      ['up', 1, 0, 0],
    ]);
  });

  it('stop after `attempts` extra tries', async () => {
    const [r1, r2, r3] = [await refusedUrl(), await refusedUrl(), await refusedUrl()];
    const ok = await okServer('ok');
    const once = balanced({ upstreams: [r1, r2, ok.url], retry: { attempts: 1 } });
    await expect(get(once.lb)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(once.retries.map((r) => r.attempt)).toEqual([1]);
    expect(ok.hits.traffic).toBe(0);
    expect(await get(once.lb)).toBe('200 ok');

    const twice = balanced({ upstreams: [r1, r2, r3, ok.url], retry: { attempts: 2 } });
    await expect(get(twice.lb)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(twice.retries.map((r) => r.attempt)).toEqual([1, 2]);
    const thrice = balanced({ upstreams: [r1, r2, r3, ok.url], retry: { attempts: 3 } });
    expect(await get(thrice.lb)).toBe('200 ok');
    expect(thrice.retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
  });

  it('end with the connect error when no other upstream is left', async () => {
    const { lb, retries } = balanced({ upstreams: [await refusedUrl()], retry: { attempts: 3 } });
    await expect(get(lb)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(retries).toEqual([]);
    await expect(get(lb)).rejects.toMatchObject({ code: 'ERR_NO_HEALTHY_UPSTREAM' });
  });

  it('never resend a request that reached an upstream', async () => {
    const resetter = await startServer((req) => req.socket.destroy());
    const ok = await okServer('ok');
    const { lb, retries } = balanced({ upstreams: [resetter.url, ok.url], retry: { attempts: 3 } });
    await expect(get(lb)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(resetter.hits.traffic).toBe(1);
    expect(ok.hits.traffic).toBe(0);
    expect(retries).toEqual([]);
  });

  it('never resend a request body stream once bytes of it went out', async () => {
    let received = 0;
    const partial = await startServer((req) => {
      req.once('data', (chunk: Buffer) => {
        received += chunk.length;
        req.socket.destroy();
      });
    });
    const ok = await okServer('ok');
    const { lb, retries } = balanced({ upstreams: [partial.url, ok.url], retry: { attempts: 3 } });
    let pulls = 0;
    const body = new Readable({
      read() {
        pulls++;
        if (pulls === 1) this.push('first chunk ');
        else setTimeout(() => this.push(pulls < 50 ? 'more ' : null), 20);
      },
    });
    await expect(get(lb, body)).rejects.toMatchObject({
      code: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET|EPIPE)$/),
    });
    expect(received).toBeGreaterThan(0);
    expect(ok.hits.traffic).toBe(0);
    expect(retries).toEqual([]);
    expect(lb.status()[0]).toMatchObject({ requests: 1, failures: 1, inFlight: 0 });
  });

  it('resend a request body stream whole when no byte of it went out', async () => {
    const echo = await startServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    });
    const { lb, retries } = balanced({ upstreams: [await refusedUrl(), echo.url], retry: { attempts: 1 } });
    expect(await get(lb, Readable.from(['stream ', 'body ', 'whole']))).toBe('200 stream body whole');
    expect(retries).toHaveLength(1);
  });

  it('work for controller-style handlers, calling onUpstream for each try', async () => {
    const refused = await refusedUrl();
    const ok = await okServer('ok');
    const { lb } = balanced({ upstreams: [refused, ok.url], retry: { attempts: 1 } });
    const calls: string[] = [];
    await new Promise<void>((resolve, reject) => {
      lb.dispatch(
        { origin: 'http://x.internal', path: '/', method: 'GET' },
        {
          onUpstream: (u: { url: string }) => calls.push(`upstream ${u.url === refused ? 'refused' : 'ok'}`),
          onRequestStart: () => calls.push('start'),
          onResponseStart: (_c: unknown, status: number) => calls.push(`status ${status}`),
          onResponseEnd: () => resolve(),
          onResponseError: (_c: unknown, err: Error) => reject(err),
        },
      );
    });
    expect(calls).toEqual(['upstream refused', 'upstream ok', 'start', 'status 200']);
  });
});
