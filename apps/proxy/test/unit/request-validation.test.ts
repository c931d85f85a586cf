import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { newRequestFacts, type RequestFacts } from '../../src/header-rules.js';
import { originFormTarget, validateRequest } from '../../src/request-validation.js';

function check(facts: Partial<RequestFacts>, req: Partial<IncomingMessage> = {}) {
  return validateRequest({ httpVersionMajor: 1, httpVersionMinor: 1, method: 'POST', ...req } as IncomingMessage, {
    ...newRequestFacts(),
    hostCount: 1,
    ...facts,
  });
}

describe('validateRequest', () => {
  it('lets an ordinary request through', () => {
    expect(check({ contentLength: '5', contentLengthCount: 1 })).toBeUndefined();
    expect(check({ transferEncoding: 'chunked' })).toBeUndefined();
    expect(check({ transferEncoding: 'Chunked ' })).toBeUndefined();
  });

  it.each([
    ['two Host headers', { hostCount: 2 }, {}, 'BAD_REQUEST'],
    ['two Content-Length headers', { contentLength: '5', contentLengthCount: 2 }, {}, 'BAD_REQUEST'],
    ['a non-numeric Content-Length', { contentLength: '5x', contentLengthCount: 1 }, {}, 'BAD_REQUEST'],
    ['Content-Length with Transfer-Encoding', { contentLength: '5', contentLengthCount: 1, transferEncoding: 'chunked' }, {}, 'BAD_REQUEST'],
    ['chunked on HTTP/1.0', { transferEncoding: 'chunked' }, { httpVersionMinor: 0 }, 'BAD_REQUEST'],
    ['a coding other than chunked', { transferEncoding: 'gzip' }, {}, 'NOT_IMPLEMENTED'],
    ['chunked not alone', { transferEncoding: 'gzip, chunked' }, {}, 'NOT_IMPLEMENTED'],
    ['CONNECT', {}, { method: 'CONNECT' }, 'NOT_IMPLEMENTED'],
    ['HTTP/2.0', {}, { httpVersionMajor: 2, httpVersionMinor: 0 }, 'HTTP_VERSION_NOT_SUPPORTED'],
  ] as const)('refuses %s', (_label, facts, req, code) => {
    expect(check(facts, req)).toBe(code);
  });
});

describe('originFormTarget', () => {
  it.each([
    ['/a?b=1', '/a?b=1'],
    ['http://example.com/x/y?z=1', '/x/y?z=1'],
    ['HTTP://example.com', '/'],
    ['*', undefined],
    ['example.com:443', undefined],
    ['ftp://example.com/x', undefined],
  ])('%s -> %s', (url, expected) => {
    expect(originFormTarget(url)).toBe(expected);
  });
});
