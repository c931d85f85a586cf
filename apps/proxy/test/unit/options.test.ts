import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HelpRequested,
  OptionsError,
  PROXY_OPTIONS,
  parseUpstreamUrl,
  reloadUpstreams,
  resolveConfig,
  usage,
} from '../../src/options.js';

const U = ['--upstream', 'http://127.0.0.1:3001'];

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'rg-opts-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function failure(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(OptionsError);
    return (err as Error).message;
  }
  throw new Error('expected an OptionsError');
}

describe('resolveConfig', () => {
  it('applies the documented defaults', () => {
    const c = resolveConfig(U, {});
    expect(c).toMatchObject({
      port: 8080,
      host: ['0.0.0.0'],
      shutdownDelay: 0,
      adminPort: 9090,
      adminHost: '127.0.0.1',
      healthPath: '/health',
      healthInterval: 2000,
      healthTimeout: 1000,
      connectTimeout: 2000,
      headersTimeout: 30000,
      bodyTimeout: 30000,
      clientTimeout: 30000,
      drainTimeout: 10000,
      logFormat: 'auto',
      logLevel: 'info',
      workers: 1,
      upstreams: [{ url: 'http://127.0.0.1:3001', weight: 1 }],
      upstreamsSource: 'flag',
    });
  });

  it('takes flag > env > config file > default', () => {
    const file = configFile({
      port: 1111,
      adminPort: 2222,
      host: '127.0.0.2',
      upstreams: [{ url: 'http://10.0.0.1:80', weight: 3 }],
    });
    const env = { ROUNDGUARD_CONFIG: file, ROUNDGUARD_PORT: '3333', ROUNDGUARD_ADMIN_PORT: '4444' };
    const c = resolveConfig(['--port', '5555'], env);
    expect(c.port).toBe(5555);
    expect(c.adminPort).toBe(4444);
    expect(c.host).toEqual(['127.0.0.2']);
    expect(c.upstreams).toEqual([{ url: 'http://10.0.0.1:80', weight: 3 }]);
    expect(c.upstreamsSource).toBe('file');
    expect(resolveConfig([], { ...env, ROUNDGUARD_UPSTREAMS: 'http://a:1, http://b:2' }).upstreams).toEqual([
      { url: 'http://a:1', weight: 1 },
      { url: 'http://b:2', weight: 1 },
    ]);
  });

  it('accepts --flag=value and normalizes upstream URLs', () => {
    const c = resolveConfig(
      ['--port=0', '--upstream=http://LOCALHOST:80/', '--upstream', 'https://b.example'],
      {},
    );
    expect(c.port).toBe(0);
    expect(c.upstreams.map((u) => u.url)).toEqual(['http://localhost:80', 'https://b.example:443']);
  });

  it.each([
    [['--bogus', '1', ...U], 'unknown option "--bogus"'],
    [['--port', 'abc', ...U], 'invalid --port "abc": expected an integer from 0 to 65535'],
    [['--port', '70000', ...U], 'invalid --port "70000"'],
    [['--port', '-1', ...U], 'invalid --port "-1"'],
    [['--health-interval', '0', ...U], 'invalid --health-interval "0"'],
    [['--log-format', 'xml', ...U], 'invalid --log-format "xml"'],
    [['--log-level', 'trace', ...U], 'invalid --log-level "trace"'],
    [['--health-path', 'health', ...U], 'invalid --health-path "health"'],
    [
      ['--upstream', 'ftp://127.0.0.1:21'],
      'invalid --upstream "ftp://127.0.0.1:21": expected a URL whose scheme is http or https',
    ],
    [['--upstream', 'not a url'], 'invalid --upstream "not a url"'],
    [['--upstream', 'http://h:1/path'], 'without path'],
    [['--upstream', 'http://user:pw@h:1'], 'without credentials'],
    [['--upstream', 'http://h:1', '--upstream', 'http://h:1/'], 'duplicate upstream "http://h:1"'],
    [['--port'], 'missing value for --port'],
    [[], 'no upstream configured'],
  ])('refuses %j with a one-line message', (argv, message) => {
    const text = failure(argv);
    expect(text).toContain(message);
    expect(text).not.toContain('\n');
  });

  it('refuses bad environment values, naming the variable', () => {
    expect(failure(U, { ROUNDGUARD_PORT: 'x' })).toContain('invalid ROUNDGUARD_PORT "x"');
    expect(failure([], { ROUNDGUARD_UPSTREAMS: 'gopher://x:70' })).toContain('ROUNDGUARD_UPSTREAMS');
  });

  it('refuses bad config files', () => {
    expect(failure(['--config', '/nonexistent/rg.json'])).toContain('cannot read config file');
    expect(failure(['--config', configFile('{nope')])).toContain('is not valid JSON');
    expect(failure(['--config', configFile({ prot: 1 })])).toContain('unknown key "prot"');
    expect(failure(['--config', configFile({ upstreams: [{ url: 'http://a:1', weight: -1 }] })])).toContain(
      'weight',
    );
    expect(failure(['--config', configFile({ upstreams: [{ url: 'http://a:1', wieght: 2 }] })])).toContain(
      'unknown key "wieght"',
    );
    expect(failure(['--config', configFile({ upstreams: [] })])).toContain('no upstream configured');
  });

  it('answers --help with the usage', () => {
    expect(() => resolveConfig(['--help'], {})).toThrow(HelpRequested);
  });

  it('answers --version with the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const err = (() => {
      try {
        resolveConfig(['--port', '1', '--version'], {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(HelpRequested);
    expect((err as Error).message).toBe(version);
  });

  it.each([
    [['--port', '--host', '127.0.0.1', ...U], 'missing value for --port'],
    [['3000', ...U], 'unexpected argument "3000" (see --help)'],
    [['--bogus=value', ...U], 'unknown option "--bogus" (see --help)'],
    [['--version=2', ...U], '--version does not take a value'],
  ])('refuses the command line %j', (argv, message) => {
    expect(failure(argv)).toBe(message);
  });
});

describe('listen addresses, shutdown delay and worker count', () => {
  it('takes --host several times, ROUNDGUARD_HOST comma-separated, and host as a string or list in the file', () => {
    expect(resolveConfig([...U, '--host', '127.0.0.1', '--host', '::1'], {}).host).toEqual([
      '127.0.0.1',
      '::1',
    ]);
    expect(resolveConfig(U, { ROUNDGUARD_HOST: '127.0.0.1, ::1' }).host).toEqual(['127.0.0.1', '::1']);
    expect(resolveConfig(['--config', configFile({ upstreams: [U[1]], host: '::1' })], {}).host).toEqual([
      '::1',
    ]);
    const list = configFile({ upstreams: [U[1]], host: ['::1', '127.0.0.1'] });
    expect(resolveConfig(['--config', list], {}).host).toEqual(['::1', '127.0.0.1']);
  });

  it('refuses an address given twice', () => {
    expect(failure([...U, '--host', '::1', '--host', '::1'])).toBe('--host: address "::1" given twice');
    expect(failure(U, { ROUNDGUARD_HOST: '::1,::1' })).toBe('ROUNDGUARD_HOST: address "::1" given twice');
  });

  it('reads --shutdown-delay in milliseconds, 0 included', () => {
    expect(resolveConfig([...U, '--shutdown-delay', '0'], {}).shutdownDelay).toBe(0);
    expect(resolveConfig([...U, '--shutdown-delay', '5000'], {}).shutdownDelay).toBe(5000);
    expect(failure([...U, '--shutdown-delay', '-5'])).toBe(
      'invalid --shutdown-delay "-5": expected a number of milliseconds from 0 to 2147483647',
    );
  });

  it('resolves --workers auto to the CPUs this process may use, at most 64', () => {
    expect(resolveConfig([...U, '--workers', 'auto'], {}).workers).toBe(Math.min(64, availableParallelism()));
    expect(resolveConfig(U, { ROUNDGUARD_WORKERS: 'auto' }).workers).toBe(
      Math.min(64, availableParallelism()),
    );
    expect(resolveConfig([...U, '--config', configFile({ workers: 'auto' })], {}).workers).toBe(
      Math.min(64, availableParallelism()),
    );
    expect(resolveConfig([...U, '--workers', '3'], {}).workers).toBe(3);
    for (const bad of ['0', 'Auto', 'all', '2.5', ''])
      expect(failure([...U, '--workers', bad])).toContain('an integer from 1 to 64, or auto');
    expect(failure([...U, '--workers', 'AUTO'])).toBe(
      'invalid --workers "AUTO": expected an integer from 1 to 64, or auto',
    );
    expect(failure([...U, '--workers', '65'])).toBe(
      'invalid --workers "65": expected an integer from 1 to 64, or auto',
    );
  });
});

describe('config file errors name the file, the key (and the entry inside upstreams) and what it holds', () => {
  const U1 = 'http://127.0.0.1:3001';
  it.each([
    [
      'a fractional weight',
      { upstreams: [U1, { url: 'http://127.0.0.1:3002', weight: 2.5 }] },
      'upstreams[1].weight: expected an integer from 0 to 1000000, got 2.5 (number)',
    ],
    [
      'a weight given as a string',
      { upstreams: [{ url: U1, weight: '2' }] },
      'upstreams[0].weight: expected an integer from 0 to 1000000, got "2" (string)',
    ],
    [
      'an ftp:// url',
      { upstreams: [U1, { url: 'ftp://10.0.0.1' }] },
      'upstreams[1].url: expected a URL whose scheme is http or https, got "ftp://10.0.0.1" (string)',
    ],
    [
      'an upstream that is neither a URL nor an object',
      { upstreams: [42] },
      'upstreams[0]: expected an upstream URL or { "url": ..., "weight": n }, got 42 (number)',
    ],
    [
      'a misspelt key of an upstream',
      { upstreams: [{ url: U1, wieght: 2 }] },
      'upstreams[0]: unknown key "wieght"',
    ],
    [
      'upstreams that are not a list',
      { upstreams: U1 },
      `upstreams: expected a JSON array, got "${U1}" (string)`,
    ],
    ['a duplicate upstream', { upstreams: [U1, `${U1}/`] }, `upstreams[1]: duplicate upstream "${U1}"`],
    [
      'a port given as a string',
      { upstreams: [U1], port: '18085' },
      'port: expected an integer from 0 to 65535, got "18085" (string)',
    ],
    [
      'a timeout given as a string',
      { upstreams: [U1], healthInterval: '2000' },
      'healthInterval: expected a number of milliseconds from 1 to 2147483647, got "2000" (string)',
    ],
    [
      'a log level given as a number',
      { upstreams: [U1], logLevel: 3 },
      'logLevel: expected one of error, warn, info, debug, got 3 (number)',
    ],
    ['a null host', { upstreams: [U1], host: null }, 'host: expected a JSON array, got null'],
    [
      'an empty host',
      { upstreams: [U1], host: [''] },
      'host[0]: expected a host name or IP address, got "" (string)',
    ],
    ['a host given twice', { upstreams: [U1], host: ['::1', '::1'] }, 'host[1]: address "::1" given twice'],
    [
      'a negative shutdown delay',
      { upstreams: [U1], shutdownDelay: -1 },
      'shutdownDelay: expected a number of milliseconds from 0 to 2147483647, got -1 (number)',
    ],
    [
      'workers as another word',
      { upstreams: [U1], workers: 'all' },
      'workers: expected an integer from 1 to 64, or auto, got "all" (string)',
    ],
    ['an unknown key', { upstreams: [U1], prot: 80 }, 'unknown key "prot" (expected one of port, host,'],
  ])('%s', (_name, content, message) => {
    const file = configFile(content);
    const text = failure(['--config', file]);
    expect(text.startsWith(`${file}: ${message}`), text).toBe(true);
    expect(text).not.toContain('\n');
  });

  it('reads the same errors again on reload, as OptionsError', () => {
    const file = configFile({ upstreams: [U1, { url: 'http://127.0.0.1:3002', weight: 2.5 }] });
    expect(() => reloadUpstreams(file)).toThrow(OptionsError);
    expect(() => reloadUpstreams(file)).toThrow(
      `${file}: upstreams[1].weight: expected an integer from 0 to 1000000, got 2.5 (number)`,
    );
    expect(() => reloadUpstreams(configFile({ upstreams: [] }))).toThrow('no upstream in config file');
    expect(reloadUpstreams(configFile({ upstreams: [U1, { url: 'http://b', weight: 3 }] }))).toEqual([
      { url: U1, weight: 1 },
      { url: 'http://b:80', weight: 3 },
    ]);
  });

  it('lets a flag or variable override a bad config value: only the value used is checked', () => {
    const file = configFile({ upstreams: [U1], port: '18085' });
    expect(resolveConfig(['--config', file, '--port', '1'], {}).port).toBe(1);
    expect(resolveConfig(['--config', file], { ROUNDGUARD_PORT: '2' }).port).toBe(2);
  });
});

describe('usage', () => {
  it('lists every option with its placeholder, its default and its variable', () => {
    const text = usage();
    expect(text.split('\n')[0]).toBe('Usage: roundguard [options]');
    for (const row of PROXY_OPTIONS) expect(text).toContain(`  ${row.flag} ${row.placeholder} `);
    for (const line of [
      /--config FILE +JSON config file.*\(env ROUNDGUARD_CONFIG\)$/m,
      /--port N +listen port, 0 = any free port \(default 8080; env ROUNDGUARD_PORT\)$/m,
      /--host ADDR +listen address \(repeatable; default 0\.0\.0\.0; env ROUNDGUARD_HOST, comma-separated\)$/m,
      /--upstream URL +.*\(repeatable; env ROUNDGUARD_UPSTREAMS, comma-separated\)$/m,
      /--health-interval MS +.*\(default 2000\)$/m,
      /--log-format json\|pretty +.*\(default pretty on a TTY, json otherwise; env ROUNDGUARD_LOG_FORMAT\)$/m,
      /-h, --help +print this help and exit$/m,
      /--version +print the version and exit$/m,
    ])
      expect(text).toMatch(line);
  });
});

describe('parseUpstreamUrl', () => {
  it('fills in the default port', () => {
    expect(parseUpstreamUrl('http://a', 'x')).toBe('http://a:80');
    expect(parseUpstreamUrl('https://a', 'x')).toBe('https://a:443');
  });
});
