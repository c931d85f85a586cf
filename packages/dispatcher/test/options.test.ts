import { afterEach, describe, expect, it } from 'vitest';
import type { DispatcherError } from '../src/index.js';
import { BalancedDispatcher, type DispatcherErrorCode } from '../src/index.js';

const dispatchers: BalancedDispatcher[] = [];
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.close()));
});

const U = 'http://127.0.0.1:9';

function construct(options: unknown): BalancedDispatcher {
  const lb = new BalancedDispatcher(options as never);
  dispatchers.push(lb);
  return lb;
}

function thrown(fn: () => unknown): DispatcherError {
  try {
    fn();
  } catch (err) {
    return err as DispatcherError;
  }
  throw new Error('did not throw');
}

describe('constructor options', () => {
  const cases: [string, unknown, DispatcherErrorCode, string][] = [
    [
      'no options',
      undefined,
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `options` to be an object, got `undefined` (undefined)',
    ],
    [
      'options not an object',
      'http://a:1',
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `options` to be an object, got `"http://a:1"` (string)',
    ],
    [
      'no upstreams',
      {},
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `upstreams` to be an array of upstreams (it may be empty), got `undefined` (undefined)',
    ],
    [
      'an unknown option',
      { upstreams: [], retries: 1 },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `retries` to be one of `upstreams`, `healthCheck`, `outlierDetection`, `retry`, `pool`, `dnsRefreshMs`, `dnsServers`, `dnsTimeoutMs` (a known option), got `"retries"` (string)',
    ],
    [
      'upstreams as a string',
      { upstreams: U },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams` to be an array of upstream URLs or `{ url, weight, name }` objects, got `"http://127.0.0.1:9"` (string)',
    ],
    [
      'an upstream of the wrong type',
      { upstreams: [42] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0]` to be a URL string or a `{ url, weight, name }` object, got `42` (number)',
    ],
    [
      'an upstream that is not a URL',
      { upstreams: ['127.0.0.1:3000'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be an absolute URL (`http://host:port`), got `"127.0.0.1:3000"` (string)',
    ],
    [
      'a relative URL',
      { upstreams: ['/x'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be an absolute URL (`http://host:port`), got `"/x"` (string)',
    ],
    [
      'an ftp URL',
      { upstreams: ['ftp://a:21'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be an `http://`, `https://`, `dns+http://` or `dnssrv+http://` URL, got `"ftp://a:21"` (string)',
    ],
    [
      'a URL with a path',
      { upstreams: [`${U}/api`] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be a URL without path, query or fragment (`http://host:port`), got `"http://127.0.0.1:9/api"` (string)',
    ],
    [
      'a URL with credentials',
      { upstreams: ['http://u:p@a:1'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be a URL without user name or password, got `"http://u:p@a:1"` (string)',
    ],
    [
      'port 0',
      { upstreams: ['http://a:0'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be a URL with a port from 1 to 65535, got `"http://a:0"` (string)',
    ],
    [
      'a negative weight',
      { upstreams: [{ url: U, weight: -1 }] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].weight` to be an integer from 0 to 1000000, got `-1` (number)',
    ],
    [
      'a fractional weight',
      { upstreams: [U, { url: 'http://a:1', weight: 1.5 }] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[1].weight` to be an integer from 0 to 1000000, got `1.5` (number)',
    ],
    [
      'an empty name',
      { upstreams: [{ url: U, name: '' }] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].name` to be a non-empty string without spaces or control characters, got `""` (string)',
    ],
    [
      'a misspelt key',
      { upstreams: [{ url: U, wieght: 2 }] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0]` to be an object with only `url`, `weight` and `name`, got `"wieght"` (string)',
    ],
    [
      'two upstreams with one name',
      { upstreams: [U, U] },
      'ERR_DISPATCHER_DUPLICATE_UPSTREAM',
      'Expected unique upstream names and discovery URLs in `upstreams`, got `"127.0.0.1:9"` (string) twice',
    ],
    [
      'a name given to a discovery URL',
      { upstreams: [{ url: 'dns+http://api.test:80', name: 'api' }] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].name` to be absent for a discovery URL (each address is named `ADDRESS:PORT`), got `"api"` (string)',
    ],
    [
      'an address in a discovery URL',
      { upstreams: ['dns+http://10.0.0.1:80'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be a discovery URL with a DNS name, not an address (use `http://` for an address), got `"dns+http://10.0.0.1:80"` (string)',
    ],
    [
      'a port in an SRV URL',
      { upstreams: ['dnssrv+http://_http._tcp.api.test:80'] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].url` to be a `dnssrv+` URL without a port (the SRV records give the ports), got `"dnssrv+http://_http._tcp.api.test:80"` (string)',
    ],
    [
      'a weight for an SRV URL',
      { upstreams: [{ url: 'dnssrv+http://_http._tcp.api.test', weight: 2 }] },
      'ERR_DISPATCHER_INVALID_UPSTREAM',
      'Expected `upstreams[0].weight` to be absent for a `dnssrv+` URL (the SRV records give the weights), got `2` (number)',
    ],
    [
      'healthCheck as true',
      { upstreams: [], healthCheck: true },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck` to be an object or `false`, got `true` (boolean)',
    ],
    [
      'a health path without a slash',
      { upstreams: [], healthCheck: { path: 'health' } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck.path` to be a path starting with `/`, without spaces, got `"health"` (string)',
    ],
    [
      'a zero interval',
      { upstreams: [], healthCheck: { intervalMs: 0 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck.intervalMs` to be a number of milliseconds from 1 to 2147483647, got `0` (number)',
    ],
    [
      'a timeout as a string',
      { upstreams: [], healthCheck: { timeoutMs: '1000' } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck.timeoutMs` to be a number of milliseconds from 1 to 2147483647, got `"1000"` (string)',
    ],
    [
      'rise 0',
      { upstreams: [], healthCheck: { rise: 0 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck.rise` to be an integer from 1 and up, got `0` (number)',
    ],
    [
      'fall 1.5',
      { upstreams: [], healthCheck: { fall: 1.5 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck.fall` to be an integer from 1 and up, got `1.5` (number)',
    ],
    [
      'an unknown health option',
      { upstreams: [], healthCheck: { interval: 5 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `healthCheck.interval` to be one of `path`, `intervalMs`, `timeoutMs`, `rise`, `fall` (a known option), got `"interval"` (string)',
    ],
    [
      'consecutiveFailures 0',
      { upstreams: [], outlierDetection: { consecutiveFailures: 0 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `outlierDetection.consecutiveFailures` to be an integer from 1 and up, got `0` (number)',
    ],
    [
      'a negative ejection time',
      { upstreams: [], outlierDetection: { baseEjectionMs: -5 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `outlierDetection.baseEjectionMs` to be a number of milliseconds from 1 to 2147483647, got `-5` (number)',
    ],
    [
      'a max ejection below the base',
      { upstreams: [], outlierDetection: { baseEjectionMs: 1000, maxEjectionMs: 500 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `outlierDetection.maxEjectionMs` to be at least `baseEjectionMs` (1000), got `500` (number)',
    ],
    [
      'a share over 100',
      { upstreams: [], outlierDetection: { maxEjectionPercent: 101 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `outlierDetection.maxEjectionPercent` to be a number from 0 to 100, got `101` (number)',
    ],
    [
      'retry as true',
      { upstreams: [], retry: true },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `retry` to be an object or `false`, got `true` (boolean)',
    ],
    [
      'negative attempts',
      { upstreams: [], retry: { attempts: -1 } },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `retry.attempts` to be an integer from 0 to 100, got `-1` (number)',
    ],
    [
      'pool as an array',
      { upstreams: [], pool: [] },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `pool` to be an object of undici Pool options, got `[]` (array)',
    ],
    [
      'a zero refresh',
      { upstreams: [], dnsRefreshMs: 0 },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `dnsRefreshMs` to be a number of milliseconds from 1 to 2147483647, got `0` (number)',
    ],
    [
      'dnsServers as a string',
      { upstreams: [], dnsServers: '127.0.0.1' },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `dnsServers` to be a non-empty array of `ADDRESS` or `ADDRESS:PORT` strings, got `"127.0.0.1"` (string)',
    ],
    [
      'a DNS server by name',
      { upstreams: [], dnsServers: ['ns.test:53'] },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `dnsServers[0]` to be an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`), got `"ns.test:53"` (string)',
    ],
    [
      'a DNS server port out of range',
      { upstreams: [], dnsServers: ['127.0.0.1:70000'] },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `dnsServers[0]` to be an IP address with an optional port (`127.0.0.1:5353`, `[::1]:53`), got `"127.0.0.1:70000"` (string)',
    ],
    [
      'a zero DNS timeout',
      { upstreams: [], dnsTimeoutMs: 0 },
      'ERR_DISPATCHER_INVALID_OPTION',
      'Expected `dnsTimeoutMs` to be a number of milliseconds from 1 to 2147483647, got `0` (number)',
    ],
  ];

  it.each(cases)('throws on %s', (_what, options, code, message) => {
    const err = thrown(() => construct(options));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.name).toBe('DispatcherError');
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });

  it('accepts every documented form', () => {
    const lb = construct({
      upstreams: [
        'http://127.0.0.1:3001',
        { url: 'https://[::1]:3002', weight: 2 },
        { url: 'http://127.0.0.1:3003', name: 'blue', weight: 0 },
        'http://localhost',
      ],
      healthCheck: { path: '/healthz?deep=1', intervalMs: 60_000, timeoutMs: 500, rise: 2, fall: 3 },
      outlierDetection: {
        consecutiveFailures: 3,
        baseEjectionMs: 1000,
        maxEjectionMs: 1000,
        maxEjectionPercent: 0,
      },
      retry: { attempts: 2 },
      pool: { connections: 4 },
      dnsRefreshMs: 1000,
      dnsServers: ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]:53'],
      dnsTimeoutMs: 100,
    });
    expect(lb.status().map((s) => [s.name, s.url, s.weight])).toEqual([
      ['127.0.0.1:3001', 'http://127.0.0.1:3001', 1],
      ['[::1]:3002', 'https://[::1]:3002', 2],
      ['blue', 'http://127.0.0.1:3003', 0],
      ['localhost:80', 'http://localhost:80', 1],
    ]);
  });

  it('accepts `false` for healthCheck, outlierDetection and retry, and an empty set', () => {
    const lb = construct({ upstreams: [], healthCheck: false, outlierDetection: false, retry: false });
    expect(lb.status()).toEqual([]);
  });
});

describe('runtime changes', () => {
  it('setState, setWeight and setUpstreams throw with exact codes and change nothing', () => {
    const lb = construct({ upstreams: [U], healthCheck: false });
    const before = lb.status();
    const cases: [() => unknown, DispatcherErrorCode, string][] = [
      [
        () => lb.setState('nope:1', 'drain'),
        'ERR_DISPATCHER_UNKNOWN_UPSTREAM',
        'Expected the name of an upstream in the set, got `"nope:1"` (string)',
      ],
      [
        () => lb.setState('127.0.0.1:9', 'down' as never),
        'ERR_DISPATCHER_INVALID_STATE',
        "Expected `state` to be `'ready'`, `'drain'` or `'maint'`, got `\"down\"` (string)",
      ],
      [
        () => lb.setWeight('127.0.0.1:9', -2),
        'ERR_DISPATCHER_INVALID_WEIGHT',
        'Expected `weight` to be an integer from 0 to 1000000, got `-2` (number)',
      ],
      [
        () => lb.setWeight('127.0.0.1:9', 1_000_001),
        'ERR_DISPATCHER_INVALID_WEIGHT',
        'Expected `weight` to be an integer from 0 to 1000000, got `1000001` (number)',
      ],
      [
        () => lb.setWeight('other:1', 2),
        'ERR_DISPATCHER_UNKNOWN_UPSTREAM',
        'Expected the name of an upstream in the set, got `"other:1"` (string)',
      ],
      [
        () => lb.setUpstreams(['http://a:1', 'bad']),
        'ERR_DISPATCHER_INVALID_UPSTREAM',
        'Expected `upstreams[1].url` to be an absolute URL (`http://host:port`), got `"bad"` (string)',
      ],
      [
        () =>
          lb.setUpstreams([
            { url: 'http://a:1', name: 'x' },
            { url: 'http://b:1', name: 'x' },
          ]),
        'ERR_DISPATCHER_DUPLICATE_UPSTREAM',
        'Expected unique upstream names and discovery URLs in `upstreams`, got `"x"` (string) twice',
      ],
      [
        () => lb.setUpstreams(['dns+http://a.test:80', 'dns+http://A.test']),
        'ERR_DISPATCHER_DUPLICATE_UPSTREAM',
        'Expected unique upstream names and discovery URLs in `upstreams`, got `"dns+http://a.test:80"` (string) twice',
      ],
    ];
    for (const [fn, code, message] of cases) {
      const err = thrown(fn);
      expect([err.code, err.message]).toEqual([code, message]);
    }
    expect(lb.status()).toEqual(before);
  });
});
