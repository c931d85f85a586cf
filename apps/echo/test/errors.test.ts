import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, errorBody, rawErrorResponse, type EchoErrorCode } from '../src/errors.js';
import { saneRequestId } from '../src/request-id.js';

describe('ERROR_STATUS', () => {
  it.each([
    ['INVALID_JSON', 400],
    ['EMPTY_BODY', 400],
    ['BAD_REQUEST', 400],
    ['REQUEST_TIMEOUT', 408],
    ['METHOD_NOT_ALLOWED', 405],
    ['EXPECTATION_FAILED', 417],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['HEADERS_TOO_LARGE', 431],
  ] as const)('maps %s to %i', (code, status) => {
    expect(ERROR_STATUS[code]).toBe(status);
  });

  it('has no code beyond the documented ones', () => {
    expect(Object.keys(ERROR_STATUS)).toHaveLength(9);
  });
});

describe('errorBody', () => {
  it('is {"error":{"code","message"}} with the message escaped', () => {
    const body = errorBody('INVALID_JSON', 'bad "quote"\n');
    expect(JSON.parse(body.toString())).toEqual({
      error: { code: 'INVALID_JSON', message: 'bad "quote"\n' },
    });
  });
});

describe('rawErrorResponse', () => {
  it.each(Object.keys(ERROR_STATUS) as EchoErrorCode[])('is a complete HTTP/1.1 response for %s', (code) => {
    const raw = rawErrorResponse(code, 'm').toString('latin1');
    const [head, body] = raw.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${ERROR_STATUS[code]} [A-Z]`));
    expect(head).toContain('\r\nContent-Type: application/json\r\n');
    expect(head).toContain('\r\nConnection: close');
    expect(head).toContain(`\r\nContent-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual({ error: { code, message: 'm' } });
  });
});

describe('saneRequestId', () => {
  it.each(['abc-123', '7f0c2a4e-1b1e-4d53-9e4b-0d8f6c1f2a3b', 'a/b+c=', 'host:1234-1', 'x'.repeat(128)])(
    'keeps %j',
    (id) => expect(saneRequestId(id)).toBe(id),
  );
  it.each([undefined, '', 'a b', 'a\r\nb', 'x'.repeat(129), 'é', ['a', 'b']])('drops %j', (id) => {
    expect(saneRequestId(id)).toBeUndefined();
  });
});
