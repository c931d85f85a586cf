import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runEcho, startEcho, stopAllEchoes } from './helpers/echo-process.js';
import { buildRequest, exchange } from './helpers/raw-http.js';

afterEach(stopAllEchoes);

describe('command line', () => {
  it.each([
    [['--port', 'abc'], {}, 'echo: invalid --port "abc": expected an integer from 0 to 65535'],
    [['--port=99999'], {}, 'echo: invalid --port "99999": expected an integer from 0 to 65535'],
    [['--max-body', '0'], {}, 'echo: invalid --max-body "0": expected an integer from 1 to 1073741824'],
    [
      ['--log-level', 'loud'],
      {},
      'echo: invalid --log-level "loud": expected one of error, warn, info, debug',
    ],
    [['--log-format', 'xml'], {}, 'echo: invalid --log-format "xml": expected one of json, pretty'],
    [['--bogus'], {}, 'echo: unknown option "--bogus" (see --help)'],
    [['--port'], {}, 'echo: missing value for --port'],
    [[], { ECHO_PORT: 'abc' }, 'echo: invalid ECHO_PORT "abc": expected an integer from 0 to 65535'],
    [
      [],
      { ECHO_MAX_BODY: '-5' },
      'echo: invalid ECHO_MAX_BODY "-5": expected an integer from 1 to 1073741824',
    ],
  ])('exits 2 with one line on stderr for %j %j, and starts nothing', async (args, env, message) => {
    const result = await runEcho(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${message}\n`);
    expect(result.stdout).toBe('');
  });

  it('prints the usage for --help and exits 0', async () => {
    const result = await runEcho(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:');
    for (const flag of [
      '--port',
      '--host',
      '--name',
      '--max-body',
      '--log-format',
      '--log-level',
      '--shutdown-timeout',
      '--request-timeout',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('prints a usage line that runs from the repository root', async () => {
    const result = await runEcho(['--help']);
    expect(result.stdout.split('\n')[0]).toBe('Usage: node apps/echo/dist/main.js [options]');
  });

  it('prints the version of package.json for --version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const result = await runEcho(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('logs the port chosen for --port 0 and names itself echo-<port>', async () => {
    const echo = await startEcho();
    const listening = echo.logs.find((r) => r.msg === 'listening');
    expect(listening).toMatchObject({
      level: 'info',
      name: `echo-${echo.port}`,
      host: '127.0.0.1',
      max_body: 1048576,
    });
    expect(echo.port).toBeGreaterThan(0);
    const response = await exchange(echo.port, buildRequest({ method: 'GET', path: '/health' }));
    expect(response.headers['x-echo-name']).toBe(`echo-${echo.port}`);
  });

  it('takes --name and --port=0 forms, and the flag wins over ECHO_NAME', async () => {
    const echo = await startEcho(['--port=0', '--name=flag-name'], { ECHO_NAME: 'env-name' });
    const response = await exchange(echo.port, buildRequest({ method: 'GET', path: '/health' }));
    expect(response.headers['x-echo-name']).toBe('flag-name');
  });

  it('reads ECHO_NAME and ECHO_MAX_BODY from the environment', async () => {
    const echo = await startEcho([], { ECHO_NAME: 'env-name', ECHO_MAX_BODY: '10' });
    const ok = await exchange(
      echo.port,
      buildRequest({ headers: { 'content-type': 'application/json' }, body: '"12345678"' }),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers['x-echo-name']).toBe('env-name');
    const tooBig = await exchange(
      echo.port,
      buildRequest({ headers: { 'content-type': 'application/json' }, body: '"123456789"' }),
    );
    expect(tooBig.status).toBe(413);
  });

  it('exits 1 with a message when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const result = await runEcho(['--port', String(port), '--log-format', 'json']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`echo: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
      const record = JSON.parse(result.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
      expect(record).toMatchObject({ level: 'error', msg: 'listen failed' });
    } finally {
      blocker.close();
    }
  });
});
