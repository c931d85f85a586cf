import { describe, expect, it } from 'vitest';
import { createLogger, DEFAULT_REDACT_KEYS, REDACTED, type LogFormat } from '../src/index.js';
import { only, onlyLine, sink } from './helpers.js';

// Security regression tests: credentials carried by HTTP headers never reach a log line.
const SECRET = 'sk-live-0123456789';
const formats: LogFormat[] = ['json', 'pretty'];

describe.each(formats)('redaction (%s)', (format) => {
  function logOnce(fields: Record<string, unknown>, redactKeys?: string[]): string {
    const out = sink();
    createLogger({ format, destination: out.stream, color: false, redactKeys }).info('m', fields);
    return onlyLine(out);
  }

  it.each([
    'authorization',
    'Authorization',
    'AUTHORIZATION',
    'cookie',
    'Cookie',
    'set-cookie',
    'Set-Cookie',
    'proxy-authorization',
    'Proxy-Authorization',
  ])('redacts a top-level %s field', (key) => {
    const line = logOnce({ [key]: SECRET, keep: 'visible' });
    expect(line).not.toContain(SECRET);
    expect(line).toContain(REDACTED);
    expect(line).toContain('visible');
  });

  it('redacts inside a headers object, at any depth, whatever the value type', () => {
    const line = logOnce({
      req: {
        headers: { Cookie: `a=${SECRET}`, 'set-cookie': [`s=${SECRET}`], host: 'example.com' },
        upstream: { headers: { AUTHORIZATION: { scheme: 'Bearer', token: SECRET } } },
      },
    });
    expect(line).not.toContain(SECRET);
    expect(line).toContain('example.com');
    expect(line.match(/\[REDACTED\]/g)).toHaveLength(3);
  });

  it('redacts in arrays of objects, Maps and fetch Headers', () => {
    const line = logOnce({
      list: [{ authorization: SECRET }],
      map: new Map([['Cookie', SECRET]]),
      fetchHeaders: new Headers({ authorization: `Bearer ${SECRET}`, accept: '*/*' }),
    });
    expect(line).not.toContain(SECRET);
    expect(line).toContain('*/*');
  });

  it('redacts the value after a sensitive name in a rawHeaders list', () => {
    const line = logOnce({ rawHeaders: ['Host', 'example.com', 'Cookie', SECRET, 'Authorization', SECRET] });
    expect(line).not.toContain(SECRET);
    expect(line).toContain('example.com');
  });

  it('redacts bound fields of the root and of children', () => {
    const out = sink();
    createLogger({ format, destination: out.stream, color: false, fields: { cookie: SECRET } })
      .child({ headers: { authorization: SECRET } })
      .info('m');
    expect(out.text()).not.toContain(SECRET);
  });

  it('redacts the keys given in redactKeys too, in any case', () => {
    const line = logOnce({ 'X-Api-Key': SECRET, nested: { password: SECRET } }, ['x-api-key', 'PASSWORD']);
    expect(line).not.toContain(SECRET);
  });

  it('keeps challenges and look-alike keys', () => {
    const line = logOnce({ 'www-authenticate': 'Basic', cookies_enabled: true, authorized: 'yes' });
    expect(line).not.toContain(REDACTED);
  });
});

describe('redaction shape', () => {
  it('replaces the value with the string "[REDACTED]" in JSON', () => {
    const out = sink();
    createLogger({ format: 'json', destination: out.stream }).info('m', { headers: { Cookie: SECRET } });
    expect(only(out)).toMatchObject({ headers: { Cookie: '[REDACTED]' } });
  });

  it('lists the default keys', () => {
    expect([...DEFAULT_REDACT_KEYS].sort()).toEqual([
      'authorization',
      'cookie',
      'proxy-authorization',
      'set-cookie',
    ]);
  });
});
