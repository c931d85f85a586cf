import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, errorCode, STATUS } from '../../src/errors.js';

const err = (code: string) => Object.assign(new Error(code), { code });

describe('upstream failure mapping', () => {
  it.each([
    ['ECONNREFUSED', 502, 'UPSTREAM_ERROR', 'upstream_error', true],
    ['UND_ERR_CONNECT_TIMEOUT', 502, 'UPSTREAM_ERROR', 'upstream_error', true],
    ['EHOSTUNREACH', 502, 'UPSTREAM_ERROR', 'upstream_error', true],
    ['ECONNRESET', 502, 'UPSTREAM_ERROR', 'upstream_error', false],
    ['UND_ERR_SOCKET', 502, 'UPSTREAM_ERROR', 'upstream_error', false],
    ['HPE_INVALID_CONSTANT', 502, 'UPSTREAM_ERROR', 'upstream_error', false],
    ['UND_ERR_HEADERS_TIMEOUT', 504, 'UPSTREAM_TIMEOUT', 'timeout', false],
    ['UND_ERR_BODY_TIMEOUT', 504, 'UPSTREAM_TIMEOUT', 'timeout', false],
  ])('%s -> %i %s (%s), passive removal %s', (code, status, answer, outcome, connectFailure) => {
    expect(classifyUpstreamError(err(code))).toEqual({
      status,
      code: answer,
      outcome,
      reason: code,
      connectFailure,
    });
  });

  it('bounds the reason to sane codes', () => {
    expect(errorCode(err('weird code\n'))).toBe('UNKNOWN');
    expect(errorCode(new Error('no code'))).toBe('UNKNOWN');
    expect(errorCode(null)).toBe('UNKNOWN');
    expect(classifyUpstreamError(new Error('x')).status).toBe(502);
  });

  it('gives every error code its status', () => {
    expect(STATUS).toMatchObject({
      UPSTREAM_ERROR: 502,
      NO_HEALTHY_UPSTREAM: 503,
      UPSTREAM_TIMEOUT: 504,
      BAD_REQUEST: 400,
      REQUEST_TIMEOUT: 408,
      HEADERS_TOO_LARGE: 431,
      NOT_IMPLEMENTED: 501,
      HTTP_VERSION_NOT_SUPPORTED: 505,
    });
  });
});
