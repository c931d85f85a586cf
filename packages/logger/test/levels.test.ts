import { describe, expect, it } from 'vitest';
import { createLogger, isLogFormat, isLogLevel, LOG_LEVELS, type LogLevel } from '../src/index.js';
import { sink } from './helpers.js';

describe('levels', () => {
  it('defaults to info: debug records are not written', () => {
    const out = sink();
    const logger = createLogger({ format: 'json', destination: out.stream });
    expect(logger.level).toBe('info');
    logger.debug('hidden');
    logger.info('shown');
    expect(out.records().map((r) => r.msg)).toEqual(['shown']);
  });

  it.each([
    ['error', ['error']],
    ['warn', ['error', 'warn']],
    ['info', ['error', 'warn', 'info']],
    ['debug', ['error', 'warn', 'info', 'debug']],
  ] as const)('at level %s writes %j', (level, written) => {
    const out = sink();
    const logger = createLogger({ format: 'json', level, destination: out.stream });
    logger.error('error');
    logger.warn('warn');
    logger.info('info');
    logger.debug('debug');
    expect(out.records().map((r) => [r.level, r.msg])).toEqual(written.map((l) => [l, l]));
    for (const l of LOG_LEVELS)
      expect(logger.isLevelEnabled(l)).toBe((written as readonly string[]).includes(l));
  });

  it('log(level, ...) writes at that level and honors the threshold', () => {
    const out = sink();
    const logger = createLogger({ format: 'json', level: 'warn', destination: out.stream });
    logger.log('error', 'e', { a: 1 });
    logger.log('info', 'i');
    expect(out.records()).toEqual([expect.objectContaining({ level: 'error', msg: 'e', a: 1 })]);
  });

  it('throws ERR_LOGGER_INVALID_LEVEL when log() gets an unknown level', () => {
    const logger = createLogger({ format: 'json', destination: sink().stream });
    expect(() => logger.log('verbose' as LogLevel, 'x')).toThrow(
      expect.objectContaining({
        code: 'ERR_LOGGER_INVALID_LEVEL',
        message: expect.stringContaining('"verbose"'),
      }),
    );
  });

  it('isLevelEnabled is false for an unknown level', () => {
    expect(
      createLogger({ format: 'json', destination: sink().stream }).isLevelEnabled('silly' as LogLevel),
    ).toBe(false);
  });

  it('does not serialize fields of records below the level', () => {
    const out = sink();
    const logger = createLogger({ format: 'json', level: 'info', destination: out.stream });
    const fields = {
      get costly(): never {
        throw new Error('must not be read');
      },
    };
    logger.debug('x', fields);
    expect(out.text()).toBe('');
  });

  it('isLogLevel and isLogFormat accept exactly the documented values', () => {
    expect(['error', 'warn', 'info', 'debug'].every(isLogLevel)).toBe(true);
    expect([undefined, null, 'INFO', 'verbose', 'silly', 1, {}].some(isLogLevel)).toBe(false);
    expect(['json', 'pretty', 'auto'].every(isLogFormat)).toBe(true);
    expect([undefined, 'text', 'JSON', 0].some(isLogFormat)).toBe(false);
  });
});
