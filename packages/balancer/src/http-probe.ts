import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MAX_TIMER_MS, describe, isPlainObject } from '@roundguard/internal';
import { option } from './errors.js';
import { OK, errorText, type ProbeResult } from './probe.js';
import type { Target } from './target.js';

/** A target that {@link httpProbe} can check: it has the base URL of an HTTP(S) server. */
export interface HttpTarget extends Target {
  /** Base URL of the server, `http://host:port` (or `https://`); the probe's `path` is resolved against it. */
  readonly url: string;
}

/** Options of {@link httpProbe}. */
export interface HttpProbeOptions {
  /**
   * Path (and query) requested with `GET`, resolved against the target's `url` like a link: an absolute
   * path replaces the URL's path.
   *
   * @default '/health'
   * @example
   * path: '/healthz?full=1'
   */
  readonly path?: string;
  /**
   * Time allowed for the whole answer (status line, headers and body), in milliseconds; past it the probe
   * resolves `{ ok: false, result: 'timeout' }` and closes the connection. A {@link HealthChecker} bounds
   * every probe with its own `timeoutMs` already (through the signal), so this matters when the probe is
   * used on its own.
   *
   * @default undefined (no limit of its own: only the signal ends a slow probe)
   * @example
   * timeoutMs: 1000
   */
  readonly timeoutMs?: number;
  /**
   * Extra request headers.
   *
   * @default {}
   * @example
   * headers: { host: 'app.internal' }
   */
  readonly headers?: Readonly<Record<string, string>>;
}

const USER_AGENT = 'roundguard-health-check';

/**
 * A ready probe for HTTP(S) targets, on Node's built-in `http`/`https` (no dependency): it sends
 * `GET <path>` on a connection of its own (no agent, `Connection: close`) and is healthy only on a `200`
 * whose body arrived in full (the body is read and dropped). Any other status fails at once as
 * `bad_status` (`'HTTP 503'`) without reading the body; a connection error or an answer cut short fails as
 * `error` (`'ECONNREFUSED'`, `'ECONNRESET'`, ...); an abort of the signal with a `TimeoutError`, or
 * `timeoutMs`, fails as `timeout`. Whatever happens, the connection is destroyed when the probe settles,
 * so no socket outlives it. It never rejects.
 *
 * @throws {BalancerError} `ERR_BALANCER_INVALID_OPTION` for a bad option.
 * @example
 * const probe = httpProbe({ path: '/health' });
 * await probe({ key: 'a', url: 'http://127.0.0.1:3000' }, AbortSignal.timeout(1000)); // { ok: true }
 */
export function httpProbe<T extends HttpTarget = HttpTarget>(
  options?: HttpProbeOptions,
): (target: T, signal?: AbortSignal) => Promise<ProbeResult> {
  const o = option.object(options, 'options');
  const path = o.path ?? '/health';
  if (typeof path !== 'string' || !path.startsWith('/'))
    option.invalid('path', 'a string starting with `/`', path);
  const timeoutMs =
    o.timeoutMs === undefined ? undefined : option.milliseconds('timeoutMs', o.timeoutMs, 1, MAX_TIMER_MS);
  const extra = o.headers ?? {};
  if (!isPlainObject(extra)) option.invalid('headers', 'an object', extra);
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value !== 'string') option.invalid(`headers.${name}`, 'a string', value);
  }
  const headers = {
    'user-agent': USER_AGENT,
    accept: '*/*',
    ...(extra as Record<string, string>),
    connection: 'close',
  };

  return (target, signal) =>
    new Promise<ProbeResult>((resolve) => {
      let url: URL;
      try {
        url = new URL(path, target.url);
      } catch {
        resolve({ ok: false, result: 'error', error: `invalid target url ${describe(target.url)}` });
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        resolve({ ok: false, result: 'error', error: `unsupported protocol ${describe(url.protocol)}` });
        return;
      }
      if (signal?.aborted === true) {
        resolve(abortResult(signal.reason));
        return;
      }

      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const requestOptions: RequestOptions = { method: 'GET', agent: false, headers };
      const req = request(url, requestOptions);
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish(abortResult(signal?.reason));
      const finish = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        // Listeners stay attached, so a late 'error' after this has somewhere to go.
        req.destroy();
        resolve(result);
      };

      req.on('error', (err) => finish({ ok: false, result: 'error', error: errorText(err) }));
      req.on('response', (res: IncomingMessage) => {
        const cut = (): void => finish({ ok: false, result: 'error', error: 'ECONNRESET' });
        res.on('error', (err) => finish({ ok: false, result: 'error', error: errorText(err) }));
        if (res.statusCode !== 200) {
          finish({ ok: false, result: 'bad_status', error: `HTTP ${res.statusCode ?? 'unknown'}` });
          return;
        }
        res.on('end', () => finish(OK));
        res.on('close', () => {
          if (!res.complete) cut();
        });
        res.resume();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => finish({ ok: false, result: 'timeout', error: `timeout after ${timeoutMs} ms` }),
          timeoutMs,
        );
      }
      req.end();
    });
}

/** The result of a probe aborted through its signal: `timeout` when the reason is a `TimeoutError`. */
function abortResult(reason: unknown): ProbeResult {
  const name =
    reason !== null && typeof reason === 'object' ? (reason as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError') {
    const message = (reason as { message?: unknown }).message;
    return {
      ok: false,
      result: 'timeout',
      error: typeof message === 'string' && message !== '' ? message : 'timeout',
    };
  }
  return { ok: false, result: 'error', error: 'aborted' };
}
