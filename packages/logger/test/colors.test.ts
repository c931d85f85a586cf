import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, type LoggerOptions } from '../src/index.js';
import { ANSI, onlyLine, sink, stripAnsi } from './helpers.js';

beforeEach(() => {
  vi.stubEnv('FORCE_COLOR', undefined);
  vi.stubEnv('NO_COLOR', undefined);
  vi.stubEnv('TERM', 'xterm-256color');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function colored(options: LoggerOptions & { isTTY?: boolean }): boolean {
  const out = sink({ isTTY: options.isTTY });
  createLogger({ format: 'pretty', ...options, destination: out.stream }).info('m', { status: 200 });
  return ANSI.test(onlyLine(out));
}

describe('colors', () => {
  it('are on for a TTY and off for a plain stream when nothing says otherwise', () => {
    expect(colored({ isTTY: true })).toBe(true);
    expect(colored({ isTTY: false })).toBe(false);
    expect(colored({})).toBe(false);
  });

  it('are off on a TTY when NO_COLOR is set and not empty', () => {
    vi.stubEnv('NO_COLOR', '1');
    expect(colored({ isTTY: true })).toBe(false);
  });

  it('ignore an empty NO_COLOR', () => {
    vi.stubEnv('NO_COLOR', '');
    expect(colored({ isTTY: true })).toBe(true);
  });

  it('are off on a TTY with TERM=dumb', () => {
    vi.stubEnv('TERM', 'dumb');
    expect(colored({ isTTY: true })).toBe(false);
  });

  it.each(['', '1', '2', '3', 'true'])('are on for a plain stream when FORCE_COLOR=%j', (value) => {
    vi.stubEnv('FORCE_COLOR', value);
    expect(colored({ isTTY: false })).toBe(true);
  });

  it.each(['0', 'false'])('are off on a TTY when FORCE_COLOR=%j', (value) => {
    vi.stubEnv('FORCE_COLOR', value);
    expect(colored({ isTTY: true })).toBe(false);
  });

  it('follow FORCE_COLOR over NO_COLOR, as Node.js does', () => {
    vi.stubEnv('FORCE_COLOR', '1');
    vi.stubEnv('NO_COLOR', '1');
    expect(colored({ isTTY: false })).toBe(true);
  });

  it('follow the color option over the environment and the TTY', () => {
    vi.stubEnv('NO_COLOR', '1');
    expect(colored({ color: true })).toBe(true);
    vi.stubEnv('FORCE_COLOR', '1');
    expect(colored({ color: false, isTTY: true })).toBe(false);
  });

  it('never appear in json, whatever the option and the environment', () => {
    vi.stubEnv('FORCE_COLOR', '3');
    const out = sink({ isTTY: true });
    createLogger({ format: 'json', color: true, destination: out.stream }).error('m', { status: 500 });
    expect(onlyLine(out)).not.toMatch(ANSI);
  });

  it('leave the global chalk instance alone', async () => {
    const { default: chalk } = await import('chalk');
    const before = chalk.level;
    colored({ color: true });
    colored({ color: false });
    expect(chalk.level).toBe(before);
  });
});

describe('auto format', () => {
  it('is the default, and picks pretty on a TTY', () => {
    const out = sink({ isTTY: true });
    createLogger({ destination: out.stream }).info('hello', { a: 1 });
    const line = onlyLine(out);
    expect(line).toMatch(ANSI);
    expect(stripAnsi(line)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello a=1$/);
  });

  it('picks json on a plain stream (a pipe, a file)', () => {
    const out = sink({ isTTY: false });
    createLogger({ format: 'auto', destination: out.stream }).info('hello');
    expect(JSON.parse(onlyLine(out))).toMatchObject({ level: 'info', msg: 'hello' });
  });

  it('picks json when isTTY is missing', () => {
    const out = sink();
    createLogger({ destination: out.stream }).info('hello');
    expect(onlyLine(out).startsWith('{')).toBe(true);
  });
});
