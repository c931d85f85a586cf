// Throughput of access records, naive winston vs. the shipped path, in one run.
// Run with `pnpm --filter @roundguard/logger bench` (builds first). Every variant writes to the same
// null destination: a Writable that accepts every chunk at once (strings are still converted to
// Buffers, as for a file or a socket). The loop yields to the event loop every 1024 records, so work
// that winston defers (process.nextTick, setImmediate) is counted too.
import { openSync } from 'node:fs';
import { Writable } from 'node:stream';
import winston from 'winston';
import { BatchedFdStream, createLogger } from '../dist/index.js';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);

const nullStream = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

// The 13 fields of the proxy's access record (its README, Logs), as the proxy passes them.
let seq = 0;
const accessFields = () => ({
  req_id: `b7c1f0a2-3d4e-4f5a-8b6c-${(seq++).toString(16).padStart(12, '0')}`,
  client_ip: '203.0.113.7',
  method: 'GET',
  host: 'api.example.com',
  path: '/v1/items?page=2&sort=desc',
  status: 200,
  upstream: 'http://10.0.0.2:3000',
  outcome: 'ok',
  error_code: undefined,
  bytes_in: 0,
  bytes_out: 5120,
  duration_ms: 1.843,
  upstream_ttfb_ms: 1.207,
});

const yieldNow = () => new Promise((resolve) => setImmediate(resolve));

async function round(run) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) {
    run(i);
    if ((i & 1023) === 1023) await yieldNow();
  }
  await yieldNow();
  return Number(process.hrtime.bigint() - start) / RECORDS;
}

/** Median ns/record of each variant; rounds are interleaved so that a busy machine hurts all alike. */
async function measureAll(variants) {
  for (const [, , run] of variants) {
    for (let i = 0; i < 20_000; i++) run(i);
    await yieldNow();
  }
  const samples = variants.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let v = 0; v < variants.length; v++) samples[v].push(await round(variants[v][2]));
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]);
}

// (a) winston's default path: logger.info -> format pipeline (timestamp + json) -> Stream transport.
const naiveJson = winston.createLogger({
  level: 'info',
  defaultMeta: { name: 'proxy' },
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Stream({ stream: nullStream() })],
});
const naivePretty = winston.createLogger({
  level: 'info',
  defaultMeta: { name: 'proxy' },
  format: winston.format.combine(
    winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
    winston.format.colorize(),
    winston.format.printf(
      ({ timestamp, level, message, name, ...rest }) =>
        `${timestamp} ${level} ${name} ${message} ${Object.entries(rest)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
    ),
  ),
  transports: [new winston.transports.Stream({ stream: nullStream() })],
});

// winston's Logger stream pipeline alone (Transform piped to a transport), with a line already
// formatted and a no-op format: what the shipped path saves by handing lines to its transport directly.
class LineTransport extends winston.Transport {
  constructor(stream) {
    super({});
    this.stream = stream;
  }
  log(info, callback) {
    this.stream.write(info[MESSAGE]);
    callback();
  }
}
const pipeline = winston.createLogger({
  levels: { error: 0, warn: 1, info: 2, debug: 3 },
  level: 'info',
  format: winston.format((info) => info)(),
  transports: [new LineTransport(nullStream())],
});
const preformatted = `${JSON.stringify({ time: new Date().toISOString(), level: 'info', name: 'proxy', msg: 'request completed', ...accessFields() })}\n`;

// (b) the shipped path.
const json = createLogger({ format: 'json', name: 'proxy', destination: nullStream() });
// Into a BatchedFdStream on /dev/null: records are encoded straight into its buffer (the fast path),
// unless a value needs escaping or is not ASCII (then the line string is built, as above).
const batched = createLogger({
  format: 'json',
  name: 'proxy',
  destination: new BatchedFdStream(openSync('/dev/null', 'w')),
});
const prettyPlain = createLogger({
  format: 'pretty',
  name: 'proxy',
  destination: nullStream(),
  color: false,
});
const prettyColor = createLogger({ format: 'pretty', name: 'proxy', destination: nullStream(), color: true });

const variants = [
  ['-', 'baseline: building the 13-field object only (included in every row)', () => accessFields()],
  [
    'json',
    'winston default path (timestamp + json formats, Stream transport)',
    () => naiveJson.info('request completed', accessFields()),
  ],
  [
    'json',
    'winston Logger pipeline only, line pre-formatted (no serialization)',
    () => pipeline.write({ level: 'info', message: '', [LEVEL]: 'info', [MESSAGE]: preformatted }),
  ],
  [
    'json',
    'shipped: createLogger({ format: "json" }).info',
    () => json.info('request completed', accessFields()),
  ],
  [
    'json',
    'shipped, into BatchedFdStream(/dev/null): fast path, bytes into its buffer',
    () => batched.info('request completed', accessFields()),
  ],
  [
    'json',
    'shipped, into BatchedFdStream(/dev/null): string path (a non-ASCII value)',
    () => batched.info('request completed', { ...accessFields(), outcome: 'oké' }),
  ],
  [
    'json',
    'shipped: child({ req_id }) per request + info (12 fields)',
    () => {
      const { req_id, ...rest } = accessFields();
      json.child({ req_id }).info('request completed', rest);
    },
  ],
  [
    'json',
    'shipped: debug record below the level (skipped)',
    () => json.debug('request completed', accessFields()),
  ],
  [
    'pretty',
    'winston default path (timestamp + colorize + printf)',
    () => naivePretty.info('request completed', accessFields()),
  ],
  [
    'pretty',
    'shipped: createLogger({ format: "pretty", color: false }).info',
    () => prettyPlain.info('request completed', accessFields()),
  ],
  [
    'pretty',
    'shipped: createLogger({ format: "pretty", color: true }).info',
    () => prettyColor.info('request completed', accessFields()),
  ],
];

console.log(
  `Node.js ${process.version}, ${RECORDS} records x ${ROUNDS} rounds per variant (median round), null destination\n`,
);
console.log(
  `${'format'.padEnd(7)}${'variant'.padEnd(72)}${'ns/record'.padStart(10)}${'records/s'.padStart(12)}${'CPU @10k/s'.padStart(12)}`,
);
const medians = await measureAll(variants);
const results = {};
variants.forEach(([format, label], v) => {
  const ns = medians[v];
  results[label] = ns;
  console.log(
    `${format.padEnd(7)}${label.padEnd(72)}${ns.toFixed(0).padStart(10)}${Math.round(1e9 / ns)
      .toLocaleString('en-US')
      .padStart(12)}${`${((ns * 10_000) / 1e7).toFixed(1)}%`.padStart(12)}`,
  );
});
const naive = results[variants[1][1]];
const shipped = results[variants[3][1]];
console.log(`\nshipped JSON path is ${(naive / shipped).toFixed(1)}x faster than winston's default path`);
