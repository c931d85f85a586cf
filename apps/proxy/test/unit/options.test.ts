import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HelpRequested, OptionsError, parseUpstreamUrl, resolveConfig } from '../../src/options.js';

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
  it('applies the SPEC defaults', () => {
    const c = resolveConfig(U, {});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
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
    expect(c.host).toBe('127.0.0.2');
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
});

describe('parseUpstreamUrl', () => {
  it('fills in the default port', () => {
    expect(parseUpstreamUrl('http://a', 'x')).toBe('http://a:80');
    expect(parseUpstreamUrl('https://a', 'x')).toBe('https://a:443');
  });
});
