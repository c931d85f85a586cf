// The write path to the client, black box: answers decided in one turn leave together at its end, so these
// tests pin what must not change with it: pipelined answers in request order whatever order the upstream
// answers in, large and slow bodies streamed as they come, a client that leaves mid-way, and the
// connection still usable afterwards.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpBackend, type HttpBackend } from './helpers/backends.js';
import { getUpstreams, waitFor } from './helpers/http.js';
import {
  NO_PROBES,
  startProxy,
  stopAllProcesses,
  type LogRecord,
  type ProxyProcess,
} from './helpers/processes.js';
import { openClient } from './helpers/raw-client.js';

let backend: HttpBackend;
let proxy: ProxyProcess;

/** Requests held by the backend until the test releases them (`/gate/<n>`: release once n arrived). */
let gated: Array<() => void> = [];
/** Answers held (`/hold`) until the test releases them. */
const held: Array<() => void> = [];
/** Slow streams waiting for the test's go-ahead to end. */
const slowEnds = new Map<string, () => void>();

/** Body of `size` bytes that says whose it is: `<id>:` repeated, cut to size. */
function bodyFor(id: string, size: number): string {
  return `${id}:`.repeat(Math.ceil(size / (id.length + 1))).slice(0, size);
}

function answer(res: ServerResponse, id: string, size: number): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(size), 'x-id': id });
  res.end(bodyFor(id, size));
}

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = url.searchParams.get('id') ?? '?';
  const size = Number(url.searchParams.get('size') ?? 16);
  req.resume();
  req.on('end', () => {
    const [, kind, arg] = url.pathname.split('/');
    if (kind === 'delay') setTimeout(answer, Number(arg), res, id, size);
    else if (kind === 'gate') {
      gated.push(() => answer(res, id, size));
      if (gated.length === Number(arg)) {
        const all = gated;
        gated = [];
        for (const release of all) release(); // every answer in the same tick
      }
    } else if (kind === 'hold') held.push(() => answer(res, id, size));
    else if (kind === 'slow') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-id': id });
      res.write(`${id}-first;`);
      slowEnds.set(id, () => res.end(`${id}-last`));
    } else answer(res, id, size);
  });
}

beforeAll(async () => {
  backend = await httpBackend(handler);
  proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
});

afterAll(async () => {
  await stopAllProcesses();
  await backend.close();
});

const get = (path: string, id: string): string =>
  `GET ${path}${path.includes('?') ? '&' : '?'}id=${id} HTTP/1.1\r\nhost: t\r\n\r\n`;

describe('pipelined answers', () => {
  it('eight pipelined requests the upstream answers in reverse order are answered in request order', async () => {
    const client = await openClient(proxy.port);
    try {
      const ids = Array.from({ length: 8 }, (_, i) => `r${i}`);
      await client.write(ids.map((id, i) => get(`/delay/${(8 - i) * 15}`, id)).join(''));
      const responses = await client.waitForResponses(8, 10_000);
      expect(responses.map((r) => [r.status, r.header('x-id'), r.body])).toEqual(
        ids.map((id) => [200, id, bodyFor(id, 16)]),
      );
      // The connection is still good for more.
      await client.write(get('/now', 'after'));
      const more = await client.waitForResponses(9, 10_000);
      expect(more[8]?.body).toBe(bodyFor('after', 16));
      expect(client.closed).toBe(false);
    } finally {
      client.destroy();
    }
  });

  it('answers that all come back in the same tick leave in request order, byte-exact', async () => {
    const client = await openClient(proxy.port);
    try {
      const ids = Array.from({ length: 6 }, (_, i) => `g${i}`);
      await client.write(ids.map((id, i) => get(`/gate/6?size=${100 + i * 300}`, id)).join(''));
      const responses = await client.waitForResponses(6, 10_000);
      expect(responses.map((r) => [r.header('x-id'), r.body])).toEqual(
        ids.map((id, i) => [id, bodyFor(id, 100 + i * 300)]),
      );
    } finally {
      client.destroy();
    }
  });

  it('small, large and slow answers pipelined together: in order, byte-exact, the slow one streamed', async () => {
    const client = await openClient(proxy.port);
    try {
      const big = 300 * 1024;
      await client.write(
        get('/now?size=50', 'm0') +
          get(`/now?size=${big}`, 'm1') +
          get('/slow', 'm2') +
          get('/delay/5?size=70', 'm3'),
      );
      // The slow answer's first chunk reaches the client while its upstream has not ended: not held back.
      await waitFor(() => client.data().toString('latin1').includes('m2-first;'), 'the first slow chunk');
      expect(client.responses()).toHaveLength(2);
      slowEnds.get('m2')?.();
      const responses = await client.waitForResponses(4, 10_000);
      expect(responses.map((r) => [r.header('x-id'), r.body.length])).toEqual([
        ['m0', 50],
        ['m1', big],
        ['m2', 'm2-first;m2-last'.length],
        ['m3', 70],
      ]);
      expect(responses[1]?.body).toBe(bodyFor('m1', big));
      expect(responses[2]?.body).toBe('m2-first;m2-last');
    } finally {
      client.destroy();
    }
  });
});

describe('a client that leaves', () => {
  it('leaving while its pipelined answers come back: each is accounted once, nothing stays in flight, the proxy serves on', async () => {
    const logged = proxy.accessLog().length;
    for (let round = 0; round < 6; round++) {
      const client = await openClient(proxy.port);
      const ids = Array.from({ length: 5 }, (_, i) => `a${round}-${i}`);
      await client.write(ids.map((id) => get('/hold?size=2000', id)).join(''));
      await waitFor(() => held.length === 5, 'five held answers', 10_000, 1);
      const release = (): void => {
        for (const answerNow of held.splice(0)) answerNow();
      };
      // The client leaves before the answers come, in the same tick, or while they are being written.
      if (round % 3 === 0) {
        client.destroy();
        // The proxy noticed: it aborted the five upstream requests.
        await waitFor(() => backend.inFlight === 0, 'the upstream requests to be aborted');
      }
      release();
      if (round % 3 === 2) await new Promise<void>((resolve) => setTimeout(resolve, round));
      client.destroy();
    }
    await waitFor(async () => (await getUpstreams(proxy.adminUrl))[0]?.inFlight === 0, 'inFlight 0');
    const records = (): LogRecord[] =>
      proxy
        .accessLog()
        .slice(logged)
        .filter((r) => r.path === '/hold');
    await waitFor(() => records().length >= 30, '30 access records');
    expect(records()).toHaveLength(30);
    for (const r of records())
      expect([
        [200, 'ok'],
        [499, 'client_abort'],
      ]).toContainEqual([r.status, r.outcome]);
    // Leaving before the answers came cuts them all short.
    expect(records().filter((r) => r.status === 499).length).toBeGreaterThanOrEqual(10);
    const check = await openClient(proxy.port);
    try {
      await check.write(get('/now', 'still'));
      const [res] = await check.waitForResponses(1);
      expect([res?.status, res?.body]).toEqual([200, bodyFor('still', 16)]);
    } finally {
      check.destroy();
    }
  });
});
