// Options end to end: a bad flag, environment variable or config file exits 2 with one line naming the bad
// value and starts nothing; precedence is flag > env > config file > default, read from the `listening`
// record of a real process.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAllBackends, closedPort, httpBackend } from './helpers/backends.js';
import { postJson, sleep } from './helpers/http.js';
import {
  runProxy,
  spawnProxy,
  startEcho,
  startProxy,
  stopAllProcesses,
  type EchoProcess,
} from './helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'roundguard-options-'));
let fileCount = 0;
function configFile(value: unknown): string {
  const file = join(dir, `config-${fileCount++}.json`);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

const UP = 'http://127.0.0.1:9';

describe('bad options exit 2 with a one-line message naming the value, and start nothing', () => {
  afterEach(async () => {
    await stopAllProcesses();
  });

  const cases: [name: string, args: string[], env: Record<string, string>, named: string[]][] = [
    ['an unknown flag', ['--upstream', UP, '--bogus', '1'], {}, ['--bogus']],
    ['a non-numeric port', ['--upstream', UP, '--port', 'abc'], {}, ['--port', 'abc']],
    ['a port out of range', ['--upstream', UP, '--port', '70000'], {}, ['--port', '70000']],
    [
      'a non-numeric admin port (= form)',
      ['--upstream', UP, '--admin-port=eighty'],
      {},
      ['--admin-port', 'eighty'],
    ],
    ['an ftp:// upstream', ['--upstream', 'ftp://127.0.0.1:21'], {}, ['--upstream', 'ftp://127.0.0.1:21']],
    ['an upstream that is not a URL', ['--upstream', 'localhost'], {}, ['localhost']],
    [
      'an upstream with a path',
      ['--upstream', 'http://127.0.0.1:3000/api'],
      {},
      ['http://127.0.0.1:3000/api'],
    ],
    ['no upstream at all', ['--port', '0'], {}, ['upstream']],
    ['a flag without its value', ['--upstream', UP, '--port'], {}, ['--port']],
    ['a zero health interval', ['--upstream', UP, '--health-interval', '0'], {}, ['--health-interval', '0']],
    [
      'a non-numeric headers timeout',
      ['--upstream', UP, '--headers-timeout', '5s'],
      {},
      ['--headers-timeout', '5s'],
    ],
    ['an unknown log format', ['--upstream', UP, '--log-format', 'xml'], {}, ['--log-format', 'xml']],
    ['an unknown log level', ['--upstream', UP, '--log-level', 'loud'], {}, ['--log-level', 'loud']],
    [
      'a non-numeric ROUNDGUARD_PORT',
      ['--upstream', UP],
      { ROUNDGUARD_PORT: 'abc' },
      ['ROUNDGUARD_PORT', 'abc'],
    ],
    [
      'an ftp:// entry in ROUNDGUARD_UPSTREAMS',
      [],
      { ROUNDGUARD_UPSTREAMS: `${UP},ftp://10.0.0.1` },
      ['ROUNDGUARD_UPSTREAMS', 'ftp://10.0.0.1'],
    ],
    [
      'a bad ROUNDGUARD_LOG_LEVEL',
      ['--upstream', UP],
      { ROUNDGUARD_LOG_LEVEL: 'verbose' },
      ['ROUNDGUARD_LOG_LEVEL', 'verbose'],
    ],
  ];

  it.each(cases)('%s', async (_name, args, env, named) => {
    const { code, stdout, stderr } = await runProxy(args, env);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    for (const word of named) expect(lines[0]).toContain(word);
  });

  it.each([
    ['a missing config file', () => join(dir, 'nope.json'), ['nope.json']],
    ['a config file that is not JSON', () => configFile('{ "port": 80,'), ['JSON']],
    ['an unknown key in the config file', () => configFile({ upstreams: [UP], prot: 80 }), ['prot']],
    [
      'an ftp:// upstream in the config file',
      () => configFile({ upstreams: [{ url: 'ftp://10.0.0.1' }] }),
      ['ftp://10.0.0.1'],
    ],
    [
      'a negative weight in the config file',
      () => configFile({ upstreams: [{ url: UP, weight: -1 }] }),
      ['weight', '-1'],
    ],
    [
      'a string port in the config file',
      () => configFile({ upstreams: [UP], port: 'http' }),
      ['port', 'http'],
    ],
    ['a config file with no upstream', () => configFile({ port: 0 }), ['upstream']],
    [
      'a port written as a JSON string in the config file',
      () => configFile({ upstreams: [UP], port: '18085' }),
      [': port: expected an integer from 0 to 65535, got "18085" (string)'],
    ],
    [
      'a fractional weight in the config file (named with its entry)',
      () => configFile({ upstreams: [UP, { url: 'http://127.0.0.1:10', weight: 2.5 }] }),
      [': upstreams[1].weight: expected an integer from 0 to 1000000, got 2.5 (number)'],
    ],
  ])('%s', async (_name, makeFile, named) => {
    const { code, stdout, stderr } = await runProxy(['--config', makeFile()]);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    for (const word of named) expect(lines[0]).toContain(word);
  });

  it('starts nothing: no probe reaches the upstream and no port is bound', async () => {
    const backend = await httpBackend((_req, res) => res.end());
    const port = await closedPort();
    for (const bad of [['--bogus'], ['--log-level', 'loud'], ['--admin-port', 'x']]) {
      const args = ['--port', String(port), '--upstream', backend.url, '--health-interval', '1', ...bad];
      const { code, stdout, stderr } = await runProxy(args);
      expect(code, stderr).toBe(2);
      expect(stdout).toBe('');
    }
    await sleep(100);
    expect(backend.seen).toEqual([]);
    await closeAllBackends();
  });

  it('names the config file in its errors', async () => {
    const file = configFile({ upstreams: [UP], port: '18085' });
    const { code, stderr } = await runProxy(['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      `roundguard: ${file}: port: expected an integer from 0 to 65535, got "18085" (string)\n`,
    );
  });

  it('prints the version of package.json and exits 0 on --version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const { code, stdout, stderr } = await runProxy(['--version']);
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('shows each option with its placeholder and default in --help', async () => {
    const { code, stdout } = await runProxy(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^ {2}--port N +listen port, 0 = any free port \(default 8080; env ROUNDGUARD_PORT\)$/m,
    );
    expect(stdout).toMatch(/^ {2}--drain-timeout MS +.*\(default 10000\)$/m);
    expect(stdout).toMatch(/^ {2}--admin-host ADDR +.*\(default 127\.0\.0\.1; env ROUNDGUARD_ADMIN_HOST\)$/m);
  });

  it('prints the usage and exits 0 on --help', async () => {
    const { code, stdout } = await runProxy(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--config',
      '--port',
      '--upstream',
      '--admin-port',
      '--health-interval',
      '--drain-timeout',
      '--log-format',
    ]) {
      expect(stdout).toContain(flag);
    }
  });
});

describe('precedence: flag > env > config file > default', () => {
  let echoes: EchoProcess[];
  let ports: number[];
  let file: string;

  beforeAll(async () => {
    echoes = await Promise.all([
      startEcho({ name: 'FILE' }),
      startEcho({ name: 'ENV' }),
      startEcho({ name: 'FLAG' }),
    ]);
    ports = await Promise.all(Array.from({ length: 6 }, () => closedPort()));
    file = configFile({
      port: ports[0],
      adminPort: ports[1],
      host: '127.0.0.3',
      adminHost: '127.0.0.3',
      logFormat: 'json',
      upstreams: [{ url: echoes[0]!.url, weight: 1 }],
    });
  });

  // The echo backends live for the whole group; each test's proxies are stopped after it.
  const proxies: { stop(): Promise<unknown> }[] = [];
  const track = <T extends { stop(): Promise<unknown> }>(p: T): T => (proxies.push(p), p);

  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
  });

  afterAll(async () => {
    await stopAllProcesses();
    await closeAllBackends();
  });

  it('takes everything from the config file when nothing else is given', async () => {
    const proxy = track(await startProxy(['--config', file], { defaults: false }));
    expect(proxy.listening).toMatchObject({
      port: ports[0],
      admin_port: ports[1],
      host: '127.0.0.3',
      admin_host: '127.0.0.3',
      upstreams: [echoes[0]!.url],
    });
    const res = await postJson(`http://127.0.0.3:${ports[0]}/`);
    expect(res.headers['x-echo-name']).toBe('FILE');
  });

  it('lets environment variables override the config file (ROUNDGUARD_CONFIG names the file)', async () => {
    const proxy = track(
      await startProxy([], {
        defaults: false,
        env: {
          ROUNDGUARD_CONFIG: file,
          ROUNDGUARD_PORT: String(ports[2]),
          ROUNDGUARD_ADMIN_PORT: String(ports[3]),
          ROUNDGUARD_HOST: '127.0.0.2',
          ROUNDGUARD_ADMIN_HOST: '127.0.0.2',
          ROUNDGUARD_UPSTREAMS: echoes[1]!.url,
        },
      }),
    );
    expect(proxy.listening).toMatchObject({
      port: ports[2],
      admin_port: ports[3],
      host: '127.0.0.2',
      admin_host: '127.0.0.2',
      upstreams: [echoes[1]!.url],
    });
    const res = await postJson(`http://127.0.0.2:${ports[2]}/`);
    expect(res.headers['x-echo-name']).toBe('ENV');
  });

  it('lets flags override environment variables and the config file', async () => {
    const other = configFile({ upstreams: [echoes[1]!.url], port: ports[2] });
    const proxy = track(
      await startProxy(
        [
          '--config',
          file,
          '--port',
          String(ports[4]),
          '--admin-port',
          String(ports[5]),
          '--host',
          '127.0.0.1',
          '--admin-host',
          '127.0.0.1',
          '--upstream',
          echoes[2]!.url,
        ],
        {
          defaults: false,
          env: {
            ROUNDGUARD_CONFIG: other,
            ROUNDGUARD_PORT: String(ports[2]),
            ROUNDGUARD_ADMIN_PORT: String(ports[3]),
            ROUNDGUARD_HOST: '127.0.0.2',
            ROUNDGUARD_UPSTREAMS: echoes[1]!.url,
          },
        },
      ),
    );
    expect(proxy.listening).toMatchObject({
      port: ports[4],
      admin_port: ports[5],
      host: '127.0.0.1',
      admin_host: '127.0.0.1',
      upstreams: [echoes[2]!.url],
    });
    const res = await postJson(`http://127.0.0.1:${ports[4]}/`);
    expect(res.headers['x-echo-name']).toBe('FLAG');
  });

  it('applies the defaults when nothing is given: listen on 0.0.0.0, admin on 127.0.0.1', async () => {
    const proxy = track(
      await startProxy(['--port', '0', '--admin-port', '0', '--upstream', echoes[0]!.url], {
        defaults: false,
      }),
    );
    expect(proxy.listening).toMatchObject({
      host: '0.0.0.0',
      admin_host: '127.0.0.1',
      upstreams: [echoes[0]!.url],
    });
  });

  it('resolves the log format flag > env > file (pretty shows as text, json as objects)', async () => {
    const prettyFile = configFile({ upstreams: [echoes[0]!.url], logFormat: 'pretty' });
    const base = ['--port', '0', '--admin-port', '0', '--host', '127.0.0.1'];
    // file says pretty, nothing overrides: text lines.
    const fromFile = track(spawnProxy(['--config', prettyFile, ...base], { NO_COLOR: '1' }));
    const line = await fromFile.waitForRecord(
      (r) => r.msg === '(not json)' && String(r.line).includes('listening'),
    );
    expect(String(line.line)).not.toMatch(/^\{/);
    expect(String(line.line)).not.toContain('\u001b[');
    // env says json: beats the file.
    const fromEnv = track(
      await startProxy(['--config', prettyFile, ...base], {
        defaults: false,
        env: { ROUNDGUARD_LOG_FORMAT: 'json' },
      }),
    );
    expect(fromEnv.listening.msg).toBe('listening');
    // flag says json: beats env pretty.
    const fromFlag = track(
      await startProxy(['--config', prettyFile, ...base, '--log-format', 'json'], {
        defaults: false,
        env: { ROUNDGUARD_LOG_FORMAT: 'pretty' },
      }),
    );
    expect(fromFlag.listening.msg).toBe('listening');
  });

  it('lets --config win over ROUNDGUARD_CONFIG', async () => {
    const envFile = configFile({ upstreams: [echoes[1]!.url] });
    const flagFile = configFile({ upstreams: [echoes[2]!.url] });
    const proxy = track(await startProxy(['--config', flagFile], { env: { ROUNDGUARD_CONFIG: envFile } }));
    expect(proxy.listening.upstreams).toEqual([echoes[2]!.url]);
  });
});
