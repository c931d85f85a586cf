// The option table engine on its own, with the kinds of rows the next options need: a repeatable flag,
// a flag with an environment variable, a number with bounds, a secret.
import { describe, expect, it } from 'vitest';
import { renderHelp, renderMarkdownTable } from '../src/option-docs.js';
import {
  defaultsOf,
  listOption,
  option,
  OptionProblem,
  readCommandLine,
  resolveOptions,
  type FileValues,
} from '../src/option-engine.js';
import { integer, InvalidValue, text, type Parse } from '../src/option-values.js';

const hostPort: Parse<string> = (value) => {
  if (typeof value !== 'string' || !/^[\w.-]+:\d{1,5}$/.test(value)) throw new InvalidValue('HOST:PORT');
  return value;
};

const TABLE = [
  option({
    key: 'ejectMaxPercent',
    flag: '--eject-max-percent',
    placeholder: 'P',
    default: 50,
    parse: integer(0, 100),
    help: 'at most this share of upstreams ejected at once',
  }),
  listOption({
    key: 'dnsServers',
    flag: '--dns-server',
    placeholder: 'HOST:PORT',
    env: 'T_DNS_SERVERS',
    default: [],
    defaultText: 'the system resolvers',
    parse: hostPort,
    check: (items) => {
      const i = items.findIndex((s, j) => items.indexOf(s) !== j);
      return i < 0 ? undefined : { index: i, problem: `${items[i]} given twice` };
    },
    help: 'DNS server for discovery',
  }),
  option({
    key: 'adminToken',
    flag: '--admin-token',
    placeholder: 'TOKEN',
    env: 'T_ADMIN_TOKEN',
    secret: true,
    default: undefined,
    parse: text('16 to 256 visible ASCII characters', (s) => /^[\x21-\x7e]{16,256}$/.test(s)),
    help: 'enables the admin write API',
  }),
] as const;

const SECRET = 'hunter2-but-too-short';
const SHORT = 'hunter2';

function problem(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(OptionProblem);
    return (err as Error).message;
  }
  throw new Error('expected an OptionProblem');
}

function resolve(argv: string[], env: Record<string, string> = {}, file?: Record<string, unknown>) {
  const values: FileValues | undefined =
    file === undefined ? undefined : { file: 'test.json', values: new Map(Object.entries(file)) };
  return resolveOptions(TABLE, readCommandLine(TABLE, argv), env, values);
}

describe('a repeatable flag', () => {
  it('collects every flag in order; the variable is a comma-separated list; the file a JSON array', () => {
    expect(resolve(['--dns-server', 'a:53', '--dns-server=b:5353']).values.dnsServers).toEqual([
      'a:53',
      'b:5353',
    ]);
    expect(resolve([], { T_DNS_SERVERS: 'a:53, b:53' }).values.dnsServers).toEqual(['a:53', 'b:53']);
    expect(resolve([], {}, { dnsServers: ['c:53'] }).values.dnsServers).toEqual(['c:53']);
    expect(resolve([]).values.dnsServers).toEqual([]);
  });

  it('names the bad item and runs the list check', () => {
    expect(problem(() => resolve(['--dns-server', 'a:53', '--dns-server', 'nope']))).toBe(
      'invalid --dns-server "nope": expected HOST:PORT',
    );
    expect(problem(() => resolve([], { T_DNS_SERVERS: 'a:53,nope' }))).toBe(
      'invalid T_DNS_SERVERS[1] "nope": expected HOST:PORT',
    );
    expect(problem(() => resolve([], {}, { dnsServers: ['a:53', 7] }))).toBe(
      'test.json: dnsServers[1]: expected HOST:PORT, got 7 (number)',
    );
    expect(problem(() => resolve(['--dns-server', 'a:53', '--dns-server', 'a:53']))).toBe(
      '--dns-server: a:53 given twice',
    );
    expect(problem(() => resolve([], {}, { dnsServers: ['a:53', 'b:53', 'a:53'] }))).toBe(
      'test.json: dnsServers[2]: a:53 given twice',
    );
  });
});

describe('a number with bounds', () => {
  it.each([
    [['--eject-max-percent', '101'], 'invalid --eject-max-percent "101": expected an integer from 0 to 100'],
    [['--eject-max-percent', '5.5'], 'invalid --eject-max-percent "5.5": expected an integer from 0 to 100'],
    [
      ['--eject-max-percent', '0x10'],
      'invalid --eject-max-percent "0x10": expected an integer from 0 to 100',
    ],
  ])('refuses %j', (argv, message) => {
    expect(problem(() => resolve(argv))).toBe(message);
  });

  it('takes the bounds themselves, and wants a JSON number in a file', () => {
    expect(resolve(['--eject-max-percent', '0']).values.ejectMaxPercent).toBe(0);
    expect(resolve(['--eject-max-percent', '100']).values.ejectMaxPercent).toBe(100);
    expect(resolve([], {}, { ejectMaxPercent: 100 }).values.ejectMaxPercent).toBe(100);
    expect(problem(() => resolve([], {}, { ejectMaxPercent: '50' }))).toBe(
      'test.json: ejectMaxPercent: expected an integer from 0 to 100, got "50" (string)',
    );
    expect(problem(() => resolve([], {}, { ejectMaxPercent: -1 }))).toBe(
      'test.json: ejectMaxPercent: expected an integer from 0 to 100, got -1 (number)',
    );
  });
});

describe('a secret with an environment variable', () => {
  it('is read from the flag before the variable', () => {
    const token = 'a'.repeat(16);
    expect(resolve(['--admin-token', token], { T_ADMIN_TOKEN: 'b'.repeat(16) }).values.adminToken).toBe(
      token,
    );
    expect(resolve([], { T_ADMIN_TOKEN: token })).toMatchObject({
      values: { adminToken: token },
      sources: { adminToken: 'env' },
    });
    expect(resolve([]).values.adminToken).toBeUndefined();
  });

  it('is never printed back in an error, wherever it came from', () => {
    const messages = [
      problem(() => resolve(['--admin-token', SHORT])),
      problem(() => resolve([`--admin-token=${SHORT}`])),
      problem(() => resolve([], { T_ADMIN_TOKEN: SHORT })),
      problem(() => resolve([], {}, { adminToken: SHORT })),
      problem(() => resolve([], {}, { adminToken: [SHORT] })),
      problem(() => resolve([`--admin-tokn=${SECRET}`])),
    ];
    expect(messages).toEqual([
      'invalid --admin-token (value hidden): expected 16 to 256 visible ASCII characters',
      'invalid --admin-token (value hidden): expected 16 to 256 visible ASCII characters',
      'invalid T_ADMIN_TOKEN (value hidden): expected 16 to 256 visible ASCII characters',
      'test.json: adminToken: expected 16 to 256 visible ASCII characters, got a string (value hidden)',
      'test.json: adminToken: expected 16 to 256 visible ASCII characters, got an array (value hidden)',
      'unknown option "--admin-tokn" (see --help)',
    ]);
    for (const m of messages) expect(m).not.toContain('hunter2');
  });
});

describe('precedence and defaults', () => {
  it('takes flag > env > file > default and says where each value came from', () => {
    const { values, sources } = resolve(
      ['--eject-max-percent', '10'],
      { T_DNS_SERVERS: 'e:53' },
      { ejectMaxPercent: 20, dnsServers: ['f:53'] },
    );
    expect(values).toEqual({ ejectMaxPercent: 10, dnsServers: ['e:53'], adminToken: undefined });
    expect(sources).toEqual({ ejectMaxPercent: 'flag', dnsServers: 'env', adminToken: 'default' });
    expect(defaultsOf(TABLE)).toEqual({ ejectMaxPercent: 50, dnsServers: [], adminToken: undefined });
  });

  it('stops at --help or --version, before a later bad value', () => {
    expect(readCommandLine(TABLE, ['--help', '--eject-max-percent', 'x']).action).toBe('help');
    expect(readCommandLine(TABLE, ['-h']).action).toBe('help');
    expect(readCommandLine(TABLE, ['--version', '--bogus']).action).toBe('version');
    expect(problem(() => readCommandLine(TABLE, ['--bogus', '--help']))).toBe(
      'unknown option "--bogus" (see --help)',
    );
  });
});

describe('docs', () => {
  it('renders each kind of row in --help', () => {
    const help = renderHelp(TABLE, { usage: 'Usage: t [options]', precedence: 'flag > env > default' });
    expect(help.split('\n')).toEqual([
      'Usage: t [options]',
      '',
      'Options (flag > env > default):',
      '  --eject-max-percent P   at most this share of upstreams ejected at once (default 50)',
      '  --dns-server HOST:PORT  DNS server for discovery (repeatable; default the system resolvers; env T_DNS_SERVERS, comma-separated)',
      '  --admin-token TOKEN     enables the admin write API (env T_ADMIN_TOKEN)',
      '  -h, --help              print this help and exit',
      '  --version               print the version and exit',
    ]);
  });

  it('renders each kind of row in the README table', () => {
    expect(renderMarkdownTable(TABLE, { configKeys: true }).split('\n')).toEqual([
      '| option | env | config key | default | meaning |',
      '|---|---|---|---|---|',
      '| `--eject-max-percent P` |  | `ejectMaxPercent` | `50` | at most this share of upstreams ejected at once |',
      '| `--dns-server HOST:PORT` (repeatable) | `T_DNS_SERVERS` (comma-separated) | `dnsServers` | the system resolvers | DNS server for discovery |',
      '| `--admin-token TOKEN` | `T_ADMIN_TOKEN` | `adminToken` | none | enables the admin write API |',
      '| `-h`, `--help` |  |  |  | print this help and exit |',
      '| `--version` |  |  |  | print the version and exit |',
    ]);
  });
});
