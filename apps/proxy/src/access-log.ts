// The access log: one record per request, `msg: "request completed"`, with the same fields whichever
// way the request ended (see account.ts, its only caller).
import type { Logger } from '@roundguard/logger';
import type { EndedRequest } from './account.js';

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The path of a request target without its query (queries often carry secrets). */
function pathOf(url: string | undefined): string | null {
  if (url === undefined) return null;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * Writes the access record: warn when the proxy itself answered 5xx (an upstream failure, no upstream,
 * shutting down), info otherwise. Control characters and secrets are handled by the logger.
 */
export function logRequest(logger: Logger, ended: EndedRequest, upstream: string, durationMs: number): void {
  const level = ended.status >= 500 && ended.outcome !== 'ok' ? 'warn' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const head = ended.head;
  logger.log(level, 'request completed', {
    req_id: head.requestId,
    client_ip: head.clientIp,
    method: head.method ?? null,
    host: head.host ?? null,
    path: pathOf(head.url),
    status: ended.status,
    upstream,
    outcome: ended.outcome,
    error_code: ended.errorCode === '' ? null : ended.errorCode,
    bytes_in: ended.bytesIn,
    bytes_out: ended.bytesOut,
    duration_ms: round(durationMs),
    upstream_ttfb_ms: ended.ttfbMs === null ? null : round(ended.ttfbMs),
  });
}
