// The admin server's HTML status page: GET / (the table, server-rendered), GET /events (live updates as
// Server-Sent Events), GET /dashboard.js and GET /dashboard.css. Nothing is loaded from another origin,
// and every answer carries a Content-Security-Policy that forbids it (and inline scripts).
//
// admin-server.ts wires it in: `history` is the process' TrafficHistory (fed by account.ts through each
// upstream's recorder), or in a cluster the workers' counts added up; `status()` maps what GET /upstreams
// reports; its errors are JSON answers written by errors.ts.
//
// The page's buttons call PATCH /upstreams/NAME with `Authorization: Bearer TOKEN`; that route belongs
// to the admin write API, not to this module.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DASHBOARD_JS } from './client-script.js';
import { defaultMessage, sendErrorMessage, type ProxyErrorCode } from '../errors.js';
import { DashboardError, shown } from './errors.js';
import { EventStreams } from './event-stream.js';
import { renderPage } from './page.js';
import type { DashboardSnapshot, UpstreamStatusLike } from './rows.js';
import { dashboardRow } from './rows.js';
import { DASHBOARD_CSS } from './styles.js';
import type { UpstreamTraffic } from './traffic-history.js';

/** The codes the dashboard answers with (see errors.ts). */
export type DashboardRefusal = Extract<
  ProxyErrorCode,
  'METHOD_NOT_ALLOWED' | 'SHUTTING_DOWN' | 'TOO_MANY_EVENT_STREAMS' | 'STATUS_UNAVAILABLE'
>;

/** Where the traffic columns come from: a TrafficHistory, or the merge of several (cluster). */
export interface TrafficSource {
  snapshot(): Map<string, UpstreamTraffic> | Promise<Map<string, UpstreamTraffic>>;
}

/** The policy of every dashboard answer: only this origin, no inline script or style, no framing. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface DashboardOptions {
  /** Where the req/s, error share and latency columns come from (a TrafficHistory). */
  readonly history: TrafficSource;
  /** The upstreams as `GET /upstreams` reports them (a promise when they come from other processes). */
  readonly status: () => readonly UpstreamStatusLike[] | Promise<readonly UpstreamStatusLike[]>;
  /**
   * Wall clock in epoch milliseconds, for probe ages and snapshot times.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Time between two live updates on `/events`, from 100 to 2000 ms.
   * @default 1000
   */
  readonly intervalMs?: number;
  /**
   * Time without a data frame after which `/events` sends a comment line, from 1000 to 60000 ms.
   * @default 15000
   */
  readonly heartbeatMs?: number;
  /**
   * Most `/events` streams at once, from 1 to 1000; more get 503 `TOO_MANY_EVENT_STREAMS`.
   * @default 32
   */
  readonly maxClients?: number;
  /**
   * Page title and heading.
   * @default 'Roundguard'
   */
  readonly title?: string;
  /**
   * Called with an error of `status()` (the page answers 500; the stream skips that update).
   * @default () => {}
   */
  readonly onError?: (err: unknown) => void;
}

export interface Dashboard {
  /**
   * Answers `/`, `/events`, `/dashboard.js` and `/dashboard.css` (with 405 for methods other than GET
   * and HEAD) and returns true; returns false, without touching `res`, for any other path.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Ends every `/events` stream and refuses new ones with 503 (the server is draining). */
  close(): void;
  /** The rows the page shows now. */
  snapshot(): Promise<DashboardSnapshot>;
  /** `/events` streams open now. */
  readonly eventStreams: number;
}

interface Asset {
  readonly path: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly version: string;
}

function asset(path: string, text: string, contentType: string): Asset {
  const body = Buffer.from(text);
  const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { path, body, contentType, etag: `"${version}"`, version };
}

const SCRIPT = asset('/dashboard.js', DASHBOARD_JS, 'text/javascript; charset=utf-8');
const STYLE = asset('/dashboard.css', DASHBOARD_CSS, 'text/css; charset=utf-8');

/** Header list of the security headers, for the JSON error writer of errors.ts. */
const SECURITY_HEADER_LIST: readonly string[] = Object.entries(SECURITY_HEADERS).flat();

function refuse(
  res: ServerResponse,
  code: DashboardRefusal,
  message?: string,
  headers: readonly string[] = [],
): void {
  sendErrorMessage(res, code, message ?? defaultMessage(code), [...SECURITY_HEADER_LIST, ...headers]);
}

function option(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`${name}\` to be an integer from ${min} to ${max}, got ${shown(value)}`,
    );
  }
  return value;
}

function fn<T>(name: string, value: T | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`${name}\` to be a function, got ${shown(value)}`,
    );
  }
  return value;
}

function sendAsset(req: IncomingMessage, res: ServerResponse, a: Asset, query: string, head: boolean): void {
  // The page links each asset with its content hash: that URL never changes meaning, so it is cached
  // for good; the bare URL is revalidated each time.
  const headers = {
    ...SECURITY_HEADERS,
    'content-type': a.contentType,
    etag: a.etag,
    'cache-control': query === `v=${a.version}` ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  const match = req.headers['if-none-match'];
  if (match !== undefined && (match === '*' || match.split(',').some((t) => t.trim() === a.etag))) {
    res.writeHead(304, headers);
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'content-length': a.body.length });
  res.end(head ? undefined : a.body);
}

/** The dashboard's request handler; see the top of this file for how it is wired. */
export function createDashboard(options: DashboardOptions): Dashboard {
  if (options === null || typeof options !== 'object') {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`options\` to be an object, got ${shown(options)}`,
    );
  }
  const { history } = options;
  if (
    history === null ||
    typeof history !== 'object' ||
    typeof (history as Partial<TrafficSource>).snapshot !== 'function'
  ) {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`history\` to be a TrafficHistory, got ${shown(history)}`,
    );
  }
  const { status } = options;
  if (typeof status !== 'function') {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`status\` to be a function returning the upstreams, got ${shown(status)}`,
    );
  }
  const now = fn('now', options.now, Date.now);
  const onError = fn('onError', options.onError, () => undefined);
  const title = options.title ?? 'Roundguard';
  if (typeof title !== 'string' || title === '') {
    throw new DashboardError(
      'ERR_DASHBOARD_INVALID_OPTION',
      `Expected \`title\` to be a non-empty string, got ${shown(title)}`,
    );
  }
  const intervalMs = option('intervalMs', options.intervalMs, 1000, 100, 2000);
  const heartbeatMs = option('heartbeatMs', options.heartbeatMs, 15_000, 1000, 60_000);
  const maxClients = option('maxClients', options.maxClients, 32, 1, 1000);

  const assets = {
    title,
    scriptUrl: `${SCRIPT.path}?v=${SCRIPT.version}`,
    styleUrl: `${STYLE.path}?v=${STYLE.version}`,
  };

  async function snapshot(): Promise<DashboardSnapshot> {
    const [upstreams, traffic] = await Promise.all([status(), history.snapshot()]);
    const at = now();
    return {
      at: new Date(at).toISOString(),
      upstreams: upstreams.map((u) => dashboardRow(u, traffic.get(u.name), at)),
    };
  }

  const streams = new EventStreams({
    maxClients,
    intervalMs,
    heartbeatMs,
    headers: SECURITY_HEADERS,
    refuse,
    onError,
    produce: async () => JSON.stringify(await snapshot()),
  });

  function page(res: ServerResponse, head: boolean): void {
    snapshot().then(
      (snap) => {
        const body = Buffer.from(renderPage(snap, assets));
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-length': body.length,
          'cache-control': 'no-store',
        });
        res.end(head ? undefined : body);
      },
      (err: unknown) => {
        onError(err);
        if (!res.headersSent) refuse(res, 'STATUS_UNAVAILABLE');
      },
    );
  }

  return {
    handle(req, res) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const query = q < 0 ? '' : url.slice(q + 1);
      if (path !== '/' && path !== '/events' && path !== SCRIPT.path && path !== STYLE.path) return false;
      const allowed = path === '/events' ? 'GET' : 'GET, HEAD';
      if (req.method !== 'GET' && !(req.method === 'HEAD' && path !== '/events')) {
        refuse(res, 'METHOD_NOT_ALLOWED', undefined, ['allow', allowed]);
        return true;
      }
      const head = req.method === 'HEAD';
      if (path === '/') page(res, head);
      else if (path === '/events') streams.accept(req, res);
      else sendAsset(req, res, path === SCRIPT.path ? SCRIPT : STYLE, query, head);
      return true;
    },
    close() {
      streams.close();
    },
    snapshot,
    get eventStreams() {
      return streams.size;
    },
  };
}
