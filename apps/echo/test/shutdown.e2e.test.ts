import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startEcho, stopAllEchoes } from './helpers/echo-process.js';
import { buildRequest, postJson, RawClient } from './helpers/raw-http.js';

afterEach(stopAllEchoes);

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function eventuallyRefused(port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await refused(port)) return true;
    await sleep(20);
  }
  return false;
}

describe('graceful shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s lets the request in flight finish with Connection: close, closes idle connections, exits 0',
    async (signal) => {
      const echo = await startEcho();
      const idle = await RawClient.connect(echo.port);
      const busy = await RawClient.connect(echo.port);
      try {
        // An idle keep-alive connection: one request done, nothing in flight.
        await idle.write(buildRequest({ method: 'GET', path: '/health' }));
        expect((await idle.readResponse()).status).toBe(200);

        // A request in flight: "100 Continue" proves the server is handling it, and its body is still to come.
        await busy.write(postJson('', { expect: '100-continue', 'content-length': '16' }));
        expect((await busy.readResponse()).status).toBe(100);

        echo.child.kill(signal);
        const draining = await echo.waitForLog((r) => r.msg === 'draining');
        expect(draining).toMatchObject({ level: 'info', reason: signal, in_flight: 1 });

        await idle.waitEnded();
        // Node closes idle connections a moment before the listening socket: allow for that moment.
        expect(await eventuallyRefused(echo.port)).toBe(true);

        await busy.write('{"late":"body"}\n');
        const response = await busy.readResponse();
        expect(response.status).toBe(200);
        expect(response.body.toString()).toBe('{"late":"body"}\n');
        expect(response.headers.connection).toBe('close');
        await busy.waitEnded();

        expect(await echo.exited).toEqual({ code: 0, signal: null });
        expect(echo.logs.at(-1)).toMatchObject({ msg: 'stopped', level: 'info' });
        expect(echo.logs.some((r) => r.level === 'warn')).toBe(false);
      } finally {
        idle.destroy();
        busy.destroy();
      }
    },
  );

  it('destroys what is still open after --shutdown-timeout, logs a warning and exits 0', async () => {
    const echo = await startEcho(['--shutdown-timeout', '300']);
    const stuck = await RawClient.connect(echo.port);
    try {
      await stuck.write(postJson('', { expect: '100-continue', 'content-length': '10' }));
      expect((await stuck.readResponse()).status).toBe(100);
      echo.child.kill('SIGTERM');
      expect(await echo.exited).toEqual({ code: 0, signal: null });
      await stuck.waitEnded();
      expect(echo.logs.find((r) => r.level === 'warn')).toMatchObject({
        msg: 'closing remaining connections',
        reason: 'shutdown timeout',
      });
      expect(echo.logs.at(-1)).toMatchObject({ msg: 'stopped' });
    } finally {
      stuck.destroy();
    }
  });

  it('exits 0 at once when nothing is in flight', async () => {
    const echo = await startEcho();
    echo.child.kill('SIGTERM');
    expect(await echo.exited).toEqual({ code: 0, signal: null });
    expect(echo.logs.map((r) => r.msg)).toEqual(['listening', 'draining', 'stopped']);
  });
});
