// The `floor` candidate of `pnpm bench`: the least a round-robin proxy on Roundguard's transport can do.
// A node:http server, one undici Pool per backend (with the proxy's Pool options), requests handed out in
// turn, the body streamed both ways with undici's back-pressure, hop-by-hop headers dropped. Nothing else:
// no validation, header rules, request id, X-Forwarded-*, health checks, timeouts of its own, metrics or
// access log. It is not a product and is never used outside the bench: its row shows what node:http and
// undici alone cost per request, so that Roundguard's distance to nginx splits into what its transport
// costs (this row) and what Roundguard adds on top (the difference to this row).
//
//   node scripts/bench/floor-proxy.mjs --host H --port P --upstream http://H:P1 --upstream http://H:P2 ...
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// undici as the proxy resolves it: the same version the Roundguard rows run.
const requireFromProxy = createRequire(
  fileURLToPath(new URL('../../apps/proxy/package.json', import.meta.url)),
);
const { Pool } = requireFromProxy('undici');

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    upstream: { type: 'string', multiple: true, default: [] },
  },
  // The bench passes the proxy's other options (--admin-port, --log-*) to every proxy row alike.
  strict: false,
});
if (values.upstream.length === 0) throw new Error('floor-proxy: give at least one --upstream URL');
// The Pool options Roundguard gives each upstream at its defaults (apps/proxy/src/upstreams.ts).
const poolOptions = {
  connect: { timeout: 2000 },
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
  keepAliveTimeout: 4000,
  keepAliveMaxTimeout: 600_000,
  pipelining: 1,
};
const pools = values.upstream.map((u) => new Pool(u, poolOptions));
let next = 0;

const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

class Relay {
  constructor(res) {
    this.res = res;
    this.resume = null;
  }
  onConnect() {}
  onHeaders(status, raw, resume) {
    if (status < 200) return true;
    const headers = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1');
      if (!HOP.has(name.toLowerCase())) headers.push(name, raw[i + 1].toString('latin1'));
    }
    this.resume = resume;
    this.res.writeHead(status, headers);
    return true;
  }
  onData(chunk) {
    return this.res.write(chunk);
  }
  onComplete() {
    this.res.end();
  }
  onError() {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502, { 'content-length': 0 }).end();
  }
}

function onDrain() {
  this.relay.resume?.();
}

createServer({ noDelay: true }, (req, res) => {
  const pool = pools[next];
  next = next + 1 === pools.length ? 0 : next + 1;
  const headers = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
  }
  const relay = new Relay(res);
  res.relay = relay;
  res.on('drain', onDrain);
  const length = req.headers['content-length'];
  const body =
    length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined) ? null : req;
  pool.dispatch({ method: req.method, path: req.url, headers, body }, relay);
}).listen(Number(values.port), values.host);
