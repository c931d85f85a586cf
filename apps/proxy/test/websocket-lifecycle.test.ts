// WebSocket tunnels over time: --tunnel-idle-timeout, SIGTERM (tunnels stay open until --drain-timeout,
// then are closed and the process exits 0), and no file descriptor or memory left behind by thousands
// of tunnels.
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllBackends } from './helpers/backends.js';
import { fdCount } from './helpers/hardening.js';
import { MiB, rssBytes, sleep, waitFor } from './helpers/http.js';
import { NO_PROBES, runProxy, startProxy, stopAllProcesses } from './helpers/processes.js';
import { closeAllWsBackends, closedWith, nextMessage, openWs, wsBackend } from './helpers/ws.js';

afterEach(async () => {
  await stopAllProcesses();
  await closeAllWsBackends();
  await closeAllBackends();
});

describe('--tunnel-idle-timeout', () => {
  it('closes a tunnel that carried no byte either way for that long, and only that one', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, '--tunnel-idle-timeout', '800', ...NO_PROBES]);
    const [busy, idle] = [(await openWs(proxy.port)).ws, (await openWs(proxy.port)).ws];
    idle.on('error', () => undefined);
    const opened = Date.now();
    const idleClosed = closedWith(idle).then(() => Date.now() - opened);
    // Busy: a message every 100 ms for 2 s and more, each echoed.
    for (let i = 0; i < 20; i++) {
      busy.send(`tick ${i}`);
      expect((await nextMessage(busy)).data.toString()).toBe(`tick ${i}`);
      await sleep(100);
    }
    const idleFor = await idleClosed;
    expect(idleFor).toBeGreaterThanOrEqual(750);
    expect(idleFor).toBeLessThan(4000);
    expect(busy.readyState).toBe(busy.OPEN);
    const record = await proxy.waitForRecord((r) => r.msg === 'request completed');
    expect(record).toMatchObject({ status: 101, outcome: 'ok', error_code: 'TUNNEL_IDLE_TIMEOUT' });
    expect(proxy.accessLog()).toHaveLength(1);
    busy.close();
    await waitFor(() => proxy.accessLog().length === 2, 'the busy tunnel record');
  });

  it.each(['-1', '1.5', 'soon', '2147483648'])(
    'rejects %j with status 2 and a message naming it',
    async (value) => {
      const result = await runProxy(['--upstream', 'http://127.0.0.1:1', '--tunnel-idle-timeout', value]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(
        `roundguard: invalid --tunnel-idle-timeout ${JSON.stringify(value)}: expected a number of milliseconds from 0 (none) to 2147483647`,
      );
    },
  );

  it('0 (the default: none) keeps an idle tunnel open', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, '--tunnel-idle-timeout', '0', ...NO_PROBES]);
    const { ws } = await openWs(proxy.port);
    await sleep(1000);
    ws.send('still open');
    expect((await nextMessage(ws)).data.toString()).toBe('still open');
    expect(proxy.accessLog()).toHaveLength(0);
  });
});

describe('SIGTERM with tunnels open', () => {
  it('keeps a tunnel working until --drain-timeout, then closes it and exits 0', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, '--drain-timeout', '1500', ...NO_PROBES]);
    const { ws } = await openWs(proxy.port);
    ws.on('error', () => undefined);
    const closed = closedWith(ws);
    const signalled = Date.now();
    proxy.child.kill('SIGTERM');
    await proxy.waitForRecord((r) => r.msg === 'draining');
    await sleep(300);
    ws.send('still there?');
    expect((await nextMessage(ws)).data.toString()).toBe('still there?');
    await closed;
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(1400);
    expect((await proxy.exited).code).toBe(0);
    const record = proxy.accessLog()[0];
    expect(record).toMatchObject({ status: 101, outcome: 'ok', error_code: 'SHUTTING_DOWN' });
    expect(proxy.accessLog()).toHaveLength(1);
    expect(proxy.records.some((r) => r.msg === 'stopped')).toBe(true);
  });

  it('exits as soon as the last tunnel closes, before the drain timeout', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, '--drain-timeout', '20000', ...NO_PROBES]);
    const { ws } = await openWs(proxy.port);
    const signalled = Date.now();
    proxy.child.kill('SIGTERM');
    await proxy.waitForRecord((r) => r.msg === 'draining');
    await sleep(200);
    ws.close(1001, 'going away');
    expect((await proxy.exited).code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(proxy.accessLog()[0]).toMatchObject({ status: 101, outcome: 'ok', error_code: null });
  });
});

describe('with --workers 2', () => {
  it('tunnels in each worker, and every worker closes its tunnels at the drain timeout, then exits 0', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy([
      ...['--upstream', backend.url, '--workers', '2', '--drain-timeout', '1000'],
      ...NO_PROBES,
    ]);
    const opened = await Promise.all(Array.from({ length: 6 }, () => openWs(proxy.port)));
    for (const { ws } of opened) {
      ws.on('error', () => undefined);
      ws.send('a');
      expect((await nextMessage(ws)).data.toString()).toBe('a');
    }
    opened[0]!.ws.close();
    await closedWith(opened[0]!.ws);
    proxy.child.kill('SIGTERM');
    for (const { ws } of opened.slice(1)) await closedWith(ws);
    expect((await proxy.exited).code).toBe(0);
    const codes = proxy.accessLog().map((r) => r.error_code);
    expect(codes.filter((c) => c === null)).toHaveLength(1);
    expect(codes.filter((c) => c === 'SHUTTING_DOWN')).toHaveLength(5);
  });
});

describe('resources', () => {
  it('keeps file descriptors and memory flat over 2,000 tunnels opened and closed', async () => {
    const backend = await wsBackend();
    const proxy = await startProxy(['--upstream', backend.url, ...NO_PROBES]);
    const round = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 100) {
        const batch = await Promise.all(Array.from({ length: 100 }, () => openWs(proxy.port)));
        await Promise.all(
          batch.map(async ({ ws }) => {
            ws.send('x');
            await nextMessage(ws);
            ws.close();
            await closedWith(ws);
          }),
        );
      }
    };
    await round(200); // warm-up: pools, JIT, metric series
    await waitFor(() => proxy.accessLog().length === 200, 'the warm-up records');
    const fdsBefore = fdCount(proxy.pid);
    const rssBefore = rssBytes(proxy.pid);
    await round(2000);
    await waitFor(() => proxy.accessLog().length === 2200, 'every record', 30_000);
    await waitFor(() => backend.sockets.size === 0, 'every upstream connection closed');
    await waitFor(() => fdCount(proxy.pid) <= fdsBefore + 10, `fds back near ${fdsBefore}`, 10_000);
    expect(rssBytes(proxy.pid) - rssBefore).toBeLessThan(64 * MiB);
  }, 120_000);
});
