// The admin write API: POST /upstreams, PATCH /upstreams/NAME, DELETE /upstreams/NAME. Each request is
// checked in this order: token (403 ADMIN_READ_ONLY without one configured, 401 UNAUTHORIZED), content
// type (415), body size (413), JSON (400 BAD_REQUEST), fields (400 INVALID_UPSTREAM / INVALID_CHANGE),
// then the upstream (404 UNKNOWN_UPSTREAM, 409 UPSTREAM_EXISTS / UPSTREAM_DISCOVERED). The answer is the
// upstream's report as GET /upstreams has it, once every process that forwards applied the change.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminState } from '@roundguard/dispatcher';
import { readUpstreams, sendJson, upstreamReport, type AdminSources } from './admin-read.js';
import { AdminRefusal, readJsonObject, refuse, tokenChecker } from './admin-request.js';
import type { ProxyContext } from './proxy-context.js';
import { UpstreamControl, type NewUpstream, type UpstreamChange } from './upstream-control.js';
import { isDiscoveryUrl, normalizeUpstreamUrl } from './upstream-option.js';

const MAX_WEIGHT = 1_000_000;
const ADMIN_STATES: readonly string[] = ['ready', 'drain', 'maint'];
/** Upstream names: what fits in a URL path segment and a log line unescaped. */
const NAME = /^[A-Za-z0-9[][A-Za-z0-9._:[\]-]{0,127}$/;

const shown = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

function unknownField(body: Record<string, unknown>, known: readonly string[]): string | undefined {
  return Object.keys(body).find((k) => !known.includes(k));
}

function validWeight(w: unknown): w is number {
  return typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= MAX_WEIGHT;
}

/** The body of POST /upstreams: `{ "url": "http://host:port", "weight"?: n, "name"?: "..." }`. */
export function parseNewUpstream(body: Record<string, unknown>): NewUpstream {
  const bad = (message: string) => new AdminRefusal('INVALID_UPSTREAM', message);
  const extra = unknownField(body, ['url', 'weight', 'name']);
  if (extra !== undefined) throw bad(`unknown field ${JSON.stringify(extra)} (expected url, weight, name)`);
  let url: string;
  try {
    url = normalizeUpstreamUrl(body.url);
  } catch {
    throw bad(
      `url must be an http:// or https:// base URL such as http://127.0.0.1:3001, got ${shown(body.url)}`,
    );
  }
  if (isDiscoveryUrl(url))
    throw bad('a dns+ or dnssrv+ URL can only be set in the config (it may find many upstreams)');
  const weight = body.weight ?? 1;
  if (!validWeight(weight))
    throw bad(`weight must be an integer from 0 to ${MAX_WEIGHT}, got ${shown(body.weight)}`);
  const name = body.name ?? url.slice(url.indexOf('//') + 2);
  if (typeof name !== 'string' || !NAME.test(name))
    throw bad(`name must be 1 to 128 letters, digits and . _ : - [ ], got ${shown(body.name)}`);
  return { url, weight, name };
}

/** The body of PATCH /upstreams/NAME: `{ "state"?: "ready"|"drain"|"maint", "weight"?: n }`, not empty. */
export function parseChange(body: Record<string, unknown>): UpstreamChange {
  const bad = (message: string) => new AdminRefusal('INVALID_CHANGE', message);
  const extra = unknownField(body, ['state', 'weight']);
  if (extra !== undefined) throw bad(`unknown field ${JSON.stringify(extra)} (expected state and/or weight)`);
  if (body.state === undefined && body.weight === undefined) throw bad('expected state and/or weight');
  if (body.state !== undefined && !(typeof body.state === 'string' && ADMIN_STATES.includes(body.state)))
    throw bad(`state must be ready, drain or maint, got ${shown(body.state)}`);
  if (body.weight !== undefined && !validWeight(body.weight))
    throw bad(`weight must be an integer from 0 to ${MAX_WEIGHT}, got ${shown(body.weight)}`);
  return {
    ...(body.state === undefined ? {} : { state: body.state as AdminState }),
    ...(body.weight === undefined ? {} : { weight: body.weight }),
  };
}

/** Methods allowed on a path of the write side (with GET/HEAD where the read side answers). */
export function writeMethods(path: string): string | undefined {
  if (path === '/upstreams') return 'GET, HEAD, POST';
  if (path.startsWith('/upstreams/') && path.length > '/upstreams/'.length) return 'PATCH, DELETE';
  return undefined;
}

/** Answers POST /upstreams, PATCH and DELETE /upstreams/NAME (the method is one of these). */
export function createWriteHandler(
  ctx: ProxyContext,
  sources: AdminSources,
): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  const control = new UpstreamControl(ctx);
  const authorize = tokenChecker(ctx.config.adminToken);
  /** The report of `name` once every process applied the change (the status given if it is gone). */
  const answer = async (
    res: ServerResponse,
    status: number,
    s: Parameters<typeof upstreamReport>[0],
    headers: Record<string, string> = {},
  ) => {
    await sources.applied?.();
    const reports = await readUpstreams(ctx, sources);
    const report = reports.find((r) => r.name === s.name) ?? upstreamReport(s, null);
    const body = status === 202 ? { ...report, state: 'draining' } : report;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    sendJson(res, status, body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    authorize(req);
    if (req.method === 'POST') {
      const u = parseNewUpstream(await readJsonObject(req));
      const s = control.add(u);
      return answer(res, 201, s, { location: `/upstreams/${encodeURIComponent(s.name)}` });
    }
    let name: string;
    try {
      name = decodeURIComponent(path.slice('/upstreams/'.length));
    } catch {
      throw new AdminRefusal('UNKNOWN_UPSTREAM', 'the upstream name in the path is not valid');
    }
    if (req.method === 'PATCH') {
      const change = parseChange(await readJsonObject(req));
      return answer(res, 200, control.change(name, change));
    }
    return answer(res, 202, control.remove(name));
  };
  return (req, res, path) => {
    handle(req, res, path).catch((err: unknown) => {
      if (err instanceof AdminRefusal) return refuse(res, err);
      ctx.logger.error('admin request failed', { err });
      refuse(res, new AdminRefusal('STATUS_UNAVAILABLE', 'the change could not be applied'));
    });
  };
}
