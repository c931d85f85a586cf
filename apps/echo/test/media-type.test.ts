import { describe, expect, it } from 'vitest';
import { isJsonMediaType } from '../src/media-type.js';

describe('isJsonMediaType', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    '  application/json  ',
    'application/json ; charset=utf-8',
    'application/vnd.api+json',
    'application/problem+json',
    'application/merge-patch+json; charset=utf-8',
    'APPLICATION/LD+JSON',
  ])('accepts %j', (value) => {
    expect(isJsonMediaType(value)).toBe(true);
  });

  it.each([
    undefined,
    '',
    ';',
    'text/plain',
    'text/json',
    'application/jsonx',
    'application/json5',
    'application/+json',
    'application/x+json+xml',
    'application/xml',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded',
    'json',
    'application/ json',
    'application/vnd.api+json-seq',
  ])('rejects %j', (value) => {
    expect(isJsonMediaType(value)).toBe(false);
  });
});
