// The fixture of the suites that send raw bytes through the proxy and look at what an upstream received:
// three reflecting backends (A, B, C) behind one proxy without liveness probes, started in `beforeAll` of
// the describe block that calls reflectingProxy(). The suite's afterAll closes them
// (closeAllBackends, stopAllProcesses).
import { beforeAll, expect } from 'vitest';
import type { HttpBackend } from './backends.js';
import { parseRaw, reflectingBackend, type RawResponse, type Reflected } from './hardening.js';
import { rawExchange } from './http.js';
import { NO_PROBES, startProxy, type ProxyProcess } from './processes.js';

export interface ReflectingProxy {
  /** Backends A, B and C, in rotation order. */
  readonly backends: HttpBackend[];
  readonly proxy: ProxyProcess;
  /** Requests the backends have received (health probes excluded). */
  readonly forwarded: () => number;
  /** Sends raw bytes on a new connection; the proxy closes it after one answer (`connection: close`). */
  readonly exchange: (bytes: string | Buffer) => Promise<RawResponse>;
  /** The request as the backend received it, from a 200 answer. */
  readonly reflected: (res: RawResponse) => Reflected;
}

/** Starts the fixture in `beforeAll` of the calling describe block. */
export function reflectingProxy(): ReflectingProxy {
  let backends: HttpBackend[] = [];
  let proxy: ProxyProcess | undefined;
  beforeAll(async () => {
    backends = await Promise.all(['A', 'B', 'C'].map((name) => reflectingBackend(name)));
    proxy = await startProxy([...backends.flatMap((b) => ['--upstream', b.url]), ...NO_PROBES]);
  });
  const started = (): ProxyProcess => {
    if (proxy === undefined) throw new Error('reflectingProxy() is used before its beforeAll ran');
    return proxy;
  };
  return {
    get backends() {
      return backends;
    },
    get proxy() {
      return started();
    },
    forwarded: () => backends.reduce((n, b) => n + b.count, 0),
    exchange: async (bytes) => parseRaw((await rawExchange(started().port, bytes, 5000)).data),
    reflected: (res) => {
      expect(res.status, res.body).toBe(200);
      // rawExchange reads latin1; the backend answers UTF-8 JSON.
      return JSON.parse(Buffer.from(res.body, 'latin1').toString('utf8')) as Reflected;
    },
  };
}
