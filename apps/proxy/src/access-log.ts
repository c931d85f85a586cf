// The access log: one record per request, `msg: "request completed"`, with the fields SPEC.md lists.
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@roundguard/logger';
import type { Outcome } from './errors.js';

/** Counters of one request, as an Exchange keeps them. */
export interface RequestCounters {
  readonly requestId: string;
  readonly clientIp: string;
  readonly host: string;
  readonly upstreamUrl: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The path of a request target without its query (queries often carry secrets). */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Writes the access record: warn when the proxy itself answered 5xx (an upstream failure, no upstream,
 * shutting down), info otherwise. Control characters and secrets are handled by the logger.
 */
export function logRequest(
  logger: Logger,
  req: IncomingMessage,
  status: number,
  outcome: Outcome,
  errorCode: string,
  counters: RequestCounters,
  durationMs: number,
  ttfbMs: number | null,
): void {
  const level = status >= 500 && outcome !== 'ok' ? 'warn' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger.log(level, 'request completed', {
    req_id: counters.requestId,
    client_ip: counters.clientIp,
    method: req.method,
    host: counters.host,
    path: pathOf(req.url),
    status,
    upstream: counters.upstreamUrl,
    outcome,
    error_code: errorCode === '' ? null : errorCode,
    bytes_in: counters.bytesIn,
    bytes_out: counters.bytesOut,
    duration_ms: round(durationMs),
    upstream_ttfb_ms: ttfbMs === null ? null : round(ttfbMs),
  });
}
