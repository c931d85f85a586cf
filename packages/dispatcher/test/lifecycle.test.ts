import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BalancedDispatcher } from '../src/index.js';
import { closeAll, okServer, slowServer, waitFor } from './helpers/servers.js';

afterEach(closeAll);

describe('close()', () => {
  it('waits for the requests in flight, and refuses new ones meanwhile', async () => {
    const slow = await slowServer('slow', 300);
    const lb = new BalancedDispatcher({ upstreams: [slow.url], healthCheck: { intervalMs: 30 } });
    const order: string[] = [];
    const inFlight = request('http://x.internal/', { dispatcher: lb }).then(async (res) => {
      const body = await res.body.text();
      order.push(`response ${res.statusCode} ${body}`);
    });
    await waitFor(() => lb.status()[0]?.inFlight === 1, 5000, 'request in flight');
    const closing = lb.close().then(() => order.push('closed'));
    expect(lb.closed).toBe(true);
    await expect(request('http://x.internal/', { dispatcher: lb })).rejects.toMatchObject({
      code: 'UND_ERR_CLOSED',
    });
    await Promise.all([inFlight, closing]);
    expect(order).toEqual(['response 200 slow', 'closed']);
    expect(lb.destroyed).toBe(true);
    const probes = slow.hits.health;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(slow.hits.health).toBe(probes);
    expect(lb.status()[0]).toMatchObject({ inFlight: 0, requests: 1 });
  });

  it('takes a callback, may be called twice, and fails after destroy', async () => {
    const a = await okServer('a');
    const lb = new BalancedDispatcher({ upstreams: [a.url], healthCheck: false });
    const calls: string[] = [];
    lb.close(() => calls.push('first'));
    lb.close(() => calls.push('second'));
    await lb.close();
    expect(calls).toEqual(['first', 'second']);
    const other = new BalancedDispatcher({ upstreams: [a.url], healthCheck: false });
    await other.destroy();
    await expect(other.close()).rejects.toMatchObject({ code: 'UND_ERR_DESTROYED' });
    expect(() => other.setUpstreams([])).toThrow(expect.objectContaining({ code: 'UND_ERR_CLOSED' }));
  });
});

describe('destroy()', () => {
  it('fails the requests in flight at once', async () => {
    const slow = await slowServer('slow', 5000);
    const lb = new BalancedDispatcher({ upstreams: [slow.url], healthCheck: false });
    const inFlight = request('http://x.internal/', { dispatcher: lb });
    await waitFor(() => slow.hits.traffic === 1, 5000, 'request at the upstream');
    const started = Date.now();
    const destroying = lb.destroy();
    await expect(inFlight).rejects.toMatchObject({ code: 'UND_ERR_DESTROYED' });
    await destroying;
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(request('http://x.internal/', { dispatcher: lb })).rejects.toMatchObject({
      code: 'UND_ERR_DESTROYED',
    });
  });

  it('passes its error to the requests in flight', async () => {
    const slow = await slowServer('slow', 5000);
    const lb = new BalancedDispatcher({ upstreams: [slow.url], healthCheck: false });
    const inFlight = request('http://x.internal/', { dispatcher: lb });
    await waitFor(() => slow.hits.traffic === 1, 5000, 'request at the upstream');
    const reason = Object.assign(new Error('shutting down'), { code: 'APP_SHUTDOWN' });
    lb.destroy(reason, () => undefined);
    await expect(inFlight).rejects.toBe(reason);
  });
});
