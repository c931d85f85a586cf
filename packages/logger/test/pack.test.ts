import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyPackedPackage } from '../../../scripts/pack-check.mjs';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const esm = `
import { PassThrough } from 'node:stream';
import { createLogger, isLogLevel, LoggerError } from '@roundguard/logger';

let text = '';
const destination = new PassThrough();
destination.on('data', (chunk) => { text += chunk; });
const logger = createLogger({ format: 'json', name: 'esm', destination });
logger.child({ req_id: 'r1' }).info('request completed', { status: 200, headers: { cookie: 'secret' } });
await logger.flush();
await new Promise((r) => setImmediate(r));
const record = JSON.parse(text);
if (record.name !== 'esm' || record.req_id !== 'r1' || record.status !== 200) throw new Error('bad record ' + text);
if (record.headers.cookie !== '[REDACTED]') throw new Error('not redacted ' + text);
if (!isLogLevel('debug')) throw new Error('isLogLevel');
try { createLogger({ level: 'loud' }); throw new Error('no throw'); }
catch (err) { if (err.code !== 'ERR_LOGGER_INVALID_OPTION' || !(err instanceof LoggerError)) throw err; }
`;

const cjs = `
const { execFileSync } = require('node:child_process');
const { PassThrough } = require('node:stream');
const { createLogger } = require('@roundguard/logger');

let text = '';
const destination = new PassThrough();
destination.on('data', (chunk) => { text += chunk; });
// pretty + colors runs the chalk code, which is bundled into the CommonJS build (chalk 5 is ESM-only).
createLogger({ format: 'pretty', color: true, name: 'cjs', destination }).warn('request completed', { status: 503 });
setImmediate(() => {
  if (!text.includes('\\u001b[31m503\\u001b[39m')) throw new Error('status not colored: ' + JSON.stringify(text));
  if (!/cjs.* request completed /.test(text)) throw new Error('bad line: ' + JSON.stringify(text));
  // Node.js < 20.19 (still supported) cannot require() an ES module: prove the build does not need to.
  const out = execFileSync(process.execPath, ['--no-experimental-require-module', '-e',
    "const { createLogger } = require('@roundguard/logger'); createLogger({ format: 'pretty', color: true }).info('ok'); console.log('required')",
  ], { encoding: 'utf8' });
  if (!out.includes('required')) throw new Error('require failed: ' + out);
});
`;

const ts = `
import { createLogger, isLogFormat, LoggerError, type LogFields, type Logger, type LoggerOptions, type LogLevel } from '@roundguard/logger';

const options: LoggerOptions = { format: 'json', level: 'debug', name: 'ts', destination: process.stdout, color: false, fields: { pid: 1 } };
const logger: Logger = createLogger(options);
const level: LogLevel = logger.level;
const fields: LogFields = { status: 200, err: new Error('x') };
logger.log(level, 'msg', fields);
const child: Logger = logger.child({ req_id: 'r' });
const done: Promise<void> = child.flush();
const enabled: boolean = child.isLevelEnabled('debug') && isLogFormat('auto');
const code: string = new LoggerError('ERR_LOGGER_INVALID_OPTION', 'x').code;
void done; void enabled; void code;
// @ts-expect-error: not a level
logger.log('verbose', 'x');
`;

describe('packed package', () => {
  it(
    'installs from its tarball and works from ESM, CommonJS and TypeScript',
    { timeout: 180_000 },
    async () => {
      await expect(
        verifyPackedPackage({ packageDir, esm, cjs, ts, dependencies: ['chalk', 'winston'] }),
      ).resolves.toBeDefined();
    },
  );
});
