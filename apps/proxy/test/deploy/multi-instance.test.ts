// N instances of the proxy side by side, as behind a cloud or Kubernetes load balancer: three proxy
// processes discover the same echo backends from one DNS server (a headless Service's name, here served
// on loopback), each balances over all of them on its own, and a backend added to DNS reaches every
// instance within one refresh interval (plus its first probe, plus slack for a busy machine).
import { afterEach, expect, it } from 'vitest';
import { TestDnsServer } from '../../../../packages/dispatcher/test/helpers/dns-server.js';
import { getUpstreams, postJson, waitFor } from '../helpers/http.js';
import { startEcho, startProxy, stopAllProcesses, type EchoProcess } from '../helpers/processes.js';

let dns: TestDnsServer | undefined;

afterEach(async () => {
  await stopAllProcesses();
  await dns?.close();
  dns = undefined;
});

const NAME = 'echo-headless.roundguard.test';
const REFRESH_MS = 500;
const PROBE_MS = 200;

/** Echo backends on 127.0.0.2, .3, ... all on one port (as pods of one headless Service are). */
async function echoesOnOnePort(count: number): Promise<EchoProcess[]> {
  const first = await startEcho({ name: 'echo-2', args: ['--host', '127.0.0.2'] });
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, (_, i) =>
      startEcho({ name: `echo-${i + 3}`, port: first.port, args: ['--host', `127.0.0.${i + 3}`] }),
    ),
  );
  return [first, ...rest];
}

function zone(hosts: readonly string[]) {
  return { A: hosts.map((address) => ({ address, ttl: 1 })) };
}

it('three proxies discover the same backends from DNS, and a new one reaches all three within a refresh', async () => {
  const [e2, e3, e4, e5] = await echoesOnOnePort(4);
  const port = e2!.port;
  dns = await TestDnsServer.start();
  dns.set(NAME, zone(['127.0.0.2', '127.0.0.3', '127.0.0.4']));
  const source = `dns+http://${NAME}:${port}`;
  const args = [
    ...['--upstream', source, '--dns-server', dns.server, '--dns-refresh', String(REFRESH_MS)],
    ...['--health-interval', String(PROBE_MS), '--health-timeout', '1000'],
  ];
  const proxies = await Promise.all([startProxy(args), startProxy(args), startProxy(args)]);
  const failures: string[] = [];
  const names = async (url: string, n: number): Promise<string[]> => {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await postJson(`${url}/who`, { i });
      if (res.status !== 200) failures.push(`${url}: ${res.status} ${res.text()}`);
      seen.push(String(res.headers['x-echo-name']));
    }
    return seen;
  };

  for (const proxy of proxies) {
    await waitFor(
      async () => (await getUpstreams(proxy.adminUrl)).filter((u) => u.state === 'up').length === 3,
      `three backends up at proxy ${proxy.pid}`,
      15_000,
    );
    // Each instance balances on its own: round robin over the three, 10 each.
    const seen = await names(proxy.url, 30);
    for (const echo of [e2, e3, e4]) expect(seen.filter((n) => n === echo!.name)).toHaveLength(10);
  }

  dns.set(NAME, zone(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']));
  const addedAt = Date.now();
  const reachedAfter = await Promise.all(
    proxies.map(async (proxy) => {
      await waitFor(
        async () => (await names(proxy.url, 4)).includes(e5!.name),
        `echo-5 via ${proxy.pid}`,
        20_000,
      );
      return Date.now() - addedAt;
    }),
  );
  // One refresh, the first good probe, and generous slack for a busy machine.
  for (const ms of reachedAfter) expect(ms).toBeLessThan(REFRESH_MS + PROBE_MS + 8000);
  for (const proxy of proxies) {
    const upstreams = await getUpstreams(proxy.adminUrl);
    expect(upstreams.map((u) => u.name).sort()).toEqual(
      ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((h) => `${h}:${port}`),
    );
    expect(upstreams.every((u) => u.discoveredFrom === source)).toBe(true);
  }
  expect(failures).toEqual([]);
}, 90_000);
