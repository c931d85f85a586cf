import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  ECHO_OPTIONS,
  OptionsError,
  parseOptions,
  USAGE,
  type EchoOptions,
} from '../src/options.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function options(argv: string[], env: Record<string, string> = {}, tty = false): EchoOptions {
  const parsed = parseOptions(argv, env, tty);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.options;
}

function errorOf(argv: string[], env: Record<string, string> = {}): OptionsError {
  try {
    parseOptions(argv, env, false);
  } catch (err) {
    if (err instanceof OptionsError) return err;
    throw err;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

describe('parseOptions', () => {
  it('uses the documented defaults', () => {
    expect(options([])).toEqual({
      port: 3000,
      host: '127.0.0.1',
      name: undefined,
      maxBody: 1048576,
      logFormat: 'json',
      logLevel: 'info',
      requestTimeout: 30000,
      shutdownTimeout: 10000,
    } satisfies EchoOptions);
    expect(DEFAULTS.maxBody).toBe(1024 * 1024);
  });

  it('defaults the log format to pretty on a TTY and json otherwise', () => {
    expect(options([], {}, true).logFormat).toBe('pretty');
    expect(options([], {}, false).logFormat).toBe('json');
  });

  it('accepts every flag in both --flag value and --flag=value forms', () => {
    const spaced = options([
      '--port',
      '0',
      '--host',
      '::1',
      '--name',
      'backend a',
      '--max-body',
      '10',
      '--log-format',
      'pretty',
      '--log-level',
      'debug',
      '--request-timeout',
      '0',
      '--shutdown-timeout',
      '5',
    ]);
    const joined = options([
      '--port=0',
      '--host=::1',
      '--name=backend a',
      '--max-body=10',
      '--log-format=pretty',
      '--log-level=debug',
      '--request-timeout=0',
      '--shutdown-timeout=5',
    ]);
    const expected: EchoOptions = {
      port: 0,
      host: '::1',
      name: 'backend a',
      maxBody: 10,
      logFormat: 'pretty',
      logLevel: 'debug',
      requestTimeout: 0,
      shutdownTimeout: 5,
    };
    expect(spaced).toEqual(expected);
    expect(joined).toEqual(expected);
  });

  it('reads the ECHO_* environment variables', () => {
    expect(
      options([], {
        ECHO_PORT: '3001',
        ECHO_HOST: 'localhost',
        ECHO_NAME: 'from-env',
        ECHO_MAX_BODY: '2048',
        ECHO_LOG_FORMAT: 'pretty',
        ECHO_LOG_LEVEL: 'warn',
      }),
    ).toMatchObject({
      port: 3001,
      host: 'localhost',
      name: 'from-env',
      maxBody: 2048,
      logFormat: 'pretty',
      logLevel: 'warn',
    });
  });

  it('prefers a flag to the environment, and the environment to the default', () => {
    const env = { ECHO_PORT: '3001', ECHO_NAME: 'from-env' };
    expect(options(['--port', '3002'], env)).toMatchObject({ port: 3002, name: 'from-env' });
  });

  it('ignores empty environment variables', () => {
    expect(options([], { ECHO_PORT: '', ECHO_LOG_LEVEL: '' })).toMatchObject({
      port: 3000,
      logLevel: 'info',
    });
  });

  it('keeps the last value of a repeated flag', () => {
    expect(options(['--port', '1', '--port', '2']).port).toBe(2);
  });

  it('returns a help request for --help and -h', () => {
    expect(parseOptions(['--help'], {}, false)).toEqual({ help: true });
    expect(parseOptions(['--port', '1', '-h'], {}, false)).toEqual({ help: true });
  });

  it.each([
    [['--port', 'abc'], {}, 'echo: invalid --port "abc": expected an integer from 0 to 65535'],
    [['--port', '65536'], {}, 'echo: invalid --port "65536": expected an integer from 0 to 65535'],
    [['--port', '-1'], {}, 'echo: invalid --port "-1": expected an integer from 0 to 65535'],
    [['--port', '1.5'], {}, 'echo: invalid --port "1.5": expected an integer from 0 to 65535'],
    [['--port', '3e3'], {}, 'echo: invalid --port "3e3": expected an integer from 0 to 65535'],
    [['--port', ' 80'], {}, 'echo: invalid --port " 80": expected an integer from 0 to 65535'],
    [['--port='], {}, 'echo: invalid --port "": expected an integer from 0 to 65535'],
    [[], { ECHO_PORT: 'abc' }, 'echo: invalid ECHO_PORT "abc": expected an integer from 0 to 65535'],
    [['--max-body', '0'], {}, 'echo: invalid --max-body "0": expected an integer from 1 to 1073741824'],
    [
      ['--max-body', '1073741825'],
      {},
      'echo: invalid --max-body "1073741825": expected an integer from 1 to 1073741824',
    ],
    [
      [],
      { ECHO_MAX_BODY: '1k' },
      'echo: invalid ECHO_MAX_BODY "1k": expected an integer from 1 to 1073741824',
    ],
    [
      ['--log-level', 'loud'],
      {},
      'echo: invalid --log-level "loud": expected one of error, warn, info, debug',
    ],
    [
      [],
      { ECHO_LOG_LEVEL: 'INFO' },
      'echo: invalid ECHO_LOG_LEVEL "INFO": expected one of error, warn, info, debug',
    ],
    [['--log-format', 'xml'], {}, 'echo: invalid --log-format "xml": expected one of json, pretty'],
    [
      ['--host', 'not a host'],
      {},
      'echo: invalid --host "not a host": expected an IP address or a host name',
    ],
    [['--host='], {}, 'echo: invalid --host "": expected an IP address or a host name'],
    [
      ['--name', ' padded'],
      {},
      'echo: invalid --name " padded": expected 1 to 128 printable ASCII characters, no leading or trailing space',
    ],
    [
      ['--name', 'a\r\nX-Injected: 1'],
      {},
      'echo: invalid --name "a\\r\\nX-Injected: 1": expected 1 to 128 printable ASCII characters, no leading or trailing space',
    ],
    [
      ['--request-timeout', 'soon'],
      {},
      'echo: invalid --request-timeout "soon": expected an integer from 0 to 2147483647',
    ],
    [
      ['--shutdown-timeout', '2147483648'],
      {},
      'echo: invalid --shutdown-timeout "2147483648": expected an integer from 0 to 2147483647',
    ],
    [['--bogus'], {}, 'echo: unknown option "--bogus" (see --help)'],
    [['--bogus=1'], {}, 'echo: unknown option "--bogus" (see --help)'],
    [['-p', '1'], {}, 'echo: unknown option "-p" (see --help)'],
    [['3000'], {}, 'echo: unexpected argument "3000" (see --help)'],
    [['--port'], {}, 'echo: missing value for --port'],
    [['--port', '--host', 'x'], {}, 'echo: missing value for --port'],
  ] as const)('rejects %j (env %j) with a one-line message', (argv, env, message) => {
    const err = errorOf([...argv], env);
    expect(err.message).toBe(message);
    expect(err.code).toBe('ERR_ECHO_INVALID_OPTION');
    expect(err.message).not.toContain('\n');
  });

  it('returns the version of package.json for --version', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(parseOptions(['--version'], {}, false)).toEqual({ help: true, version });
    expect(parseOptions(['--port', '1', '--version', '--bogus'], {}, false)).toEqual({ help: true, version });
  });

  it('takes each default from the option table', () => {
    expect(DEFAULTS).toEqual(Object.fromEntries(ECHO_OPTIONS.map((row) => [row.key, row.default])));
  });

  it('reports the flag, not the environment, when both are bad and the flag wins', () => {
    expect(errorOf(['--port', 'x'], { ECHO_PORT: 'y' }).message).toContain('--port "x"');
  });
});

describe('USAGE', () => {
  it('starts with a usage line that runs from the repository root', () => {
    expect(USAGE.split('\n')[0]).toBe('Usage: node apps/echo/dist/main.js [options]');
  });

  it('lists every option with its placeholder, its default and its variable', () => {
    for (const row of ECHO_OPTIONS) expect(USAGE).toContain(`  ${row.flag} ${row.placeholder} `);
    for (const line of [
      /--port N +listen port, 0 = any free port \(default 3000; env ECHO_PORT\)$/m,
      /--host ADDR +listen address \(default 127\.0\.0\.1; env ECHO_HOST\)$/m,
      /--name ID +.*\(default echo-<port>; env ECHO_NAME\)$/m,
      /--max-body BYTES +.*\(default 1048576; env ECHO_MAX_BODY\)$/m,
      /--log-format json\|pretty +.*\(default pretty on a TTY, json otherwise; env ECHO_LOG_FORMAT\)$/m,
      /--request-timeout MS +.*\(default 30000\)$/m,
      /-h, --help +print this help and exit$/m,
      /--version +print the version and exit$/m,
    ])
      expect(USAGE).toMatch(line);
  });
});
