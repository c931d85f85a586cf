// The options of health rise/fall, outlier detection, retries and DNS discovery: each bad value exits 2
// with exactly one line naming it, and starts nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runProxy, stopAllProcesses } from './helpers/processes.js';

const UP = 'http://127.0.0.1:9';
const dir = mkdtempSync(join(tmpdir(), 'roundguard-dispatcher-options-'));
let files = 0;
function configFile(value: unknown): string {
  const file = join(dir, `config-${files++}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

afterEach(async () => {
  await stopAllProcesses();
});

const MS = 'expected a number of milliseconds from 1 to 2147483647';
const DNS_SERVER = 'expected an IP address with an optional port, such as 127.0.0.1:5353 or [::1]:53';

describe('a bad value exits 2 with one line naming it', () => {
  const cases: [args: string[], message: string][] = [
    [['--health-rise', '0'], 'invalid --health-rise "0": expected an integer from 1 to 1000000'],
    [['--health-fall', 'x'], 'invalid --health-fall "x": expected an integer from 1 to 1000000'],
    [['--eject-after', '-1'], 'invalid --eject-after "-1": expected an integer from 0 to 1000000'],
    [['--eject-after', '1.5'], 'invalid --eject-after "1.5": expected an integer from 0 to 1000000'],
    [['--eject-time', '0'], `invalid --eject-time "0": ${MS}`],
    [['--eject-time', '30s'], `invalid --eject-time "30s": ${MS}`],
    [['--eject-max-percent', '101'], 'invalid --eject-max-percent "101": expected an integer from 0 to 100'],
    [['--retries', '101'], 'invalid --retries "101": expected an integer from 0 to 100'],
    [['--retries', 'two'], 'invalid --retries "two": expected an integer from 0 to 100'],
    [['--dns-refresh', '0'], `invalid --dns-refresh "0": ${MS}`],
    [['--dns-server', 'dns.example:53'], `invalid --dns-server "dns.example:53": ${DNS_SERVER}`],
    [['--dns-server', '127.0.0.1:0'], `invalid --dns-server "127.0.0.1:0": ${DNS_SERVER}`],
    [['--dns-server', '127.0.0.1:99999'], `invalid --dns-server "127.0.0.1:99999": ${DNS_SERVER}`],
    [['--dns-server', '[127.0.0.1]:53'], `invalid --dns-server "[127.0.0.1]:53": ${DNS_SERVER}`],
    [
      ['--upstream', 'dns+http://127.0.0.1:53'],
      'invalid --upstream "dns+http://127.0.0.1:53": expected a discovery URL with a DNS name, not an address (use http:// for an address)',
    ],
    [
      ['--upstream', 'dnssrv+http://_http._tcp.svc.test:80'],
      'invalid --upstream "dnssrv+http://_http._tcp.svc.test:80": expected a dnssrv+ URL without a port (the SRV records give the ports)',
    ],
    [
      ['--upstream', 'dns+ftp://svc.test:21'],
      'invalid --upstream "dns+ftp://svc.test:21": expected a dns+http:// or dnssrv+http:// URL',
    ],
    [
      ['--upstream', 'dns+http://svc.test:8080/api'],
      'invalid --upstream "dns+http://svc.test:8080/api": expected a base URL without path, query or fragment (http://host:port)',
    ],
    [
      ['--upstream', 'http://127.0.0.1:0'],
      'invalid --upstream "http://127.0.0.1:0": expected a URL with a port from 1 to 65535',
    ],
  ];

  it.each(cases)('%j', async (args, message) => {
    const { code, stdout, stderr } = await runProxy(['--upstream', UP, ...args]);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`roundguard: ${message}\n`);
  });

  it.each([
    [
      'a weight on a dnssrv+ upstream',
      { upstreams: [{ url: 'dnssrv+http://_http._tcp.svc.test', weight: 2 }] },
      'upstreams[0].weight: expected no weight for a dnssrv+ URL (the SRV records give the weights), got 2 (number)',
    ],
    [
      'a DNS server that is not an address',
      { upstreams: [UP], dnsServers: ['nope'] },
      `dnsServers[0]: ${DNS_SERVER}, got "nope" (string)`,
    ],
    [
      'retries as a string',
      { upstreams: [UP], retries: '1' },
      'retries: expected an integer from 0 to 100, got "1" (string)',
    ],
    [
      'a dns+ URL with an address in the config file',
      { upstreams: [{ url: 'dns+http://10.0.0.1:80' }] },
      'upstreams[0].url: expected a discovery URL with a DNS name, not an address (use http:// for an address), got "dns+http://10.0.0.1:80" (string)',
    ],
  ])('%s in the config file', async (_name, config, message) => {
    const file = configFile(config);
    const { code, stdout, stderr } = await runProxy(['--config', file]);
    expect(code, stderr).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`roundguard: ${file}: ${message}\n`);
  });

  it('lists every new option in --help', async () => {
    const { code, stdout } = await runProxy(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--health-rise',
      '--health-fall',
      '--eject-after',
      '--eject-time',
      '--eject-max-percent',
      '--retries',
      '--dns-refresh',
      '--dns-server',
    ])
      expect(stdout).toContain(flag);
  });
});
