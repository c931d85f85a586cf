import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import { sendJsonError } from '@roundguard/internal';
import { describe, MetricsError } from './errors.js';

/**
 * Options of {@link metricsHandler}.
 *
 * @example
 * const options: MetricsHandlerOptions = { onError: (err) => console.error(err) };
 */
export interface MetricsHandlerOptions {
  /**
   * Called with the error when collecting the metrics fails (the client gets a 500). Use it to log;
   * an exception it throws is ignored.
   *
   * @default undefined (the error is only reported to the client, as a 500 JSON body)
   * @example
   * metricsHandler(metrics.registry, { onError: (err) => logger.error('metrics collection failed', { err }) });
   */
  onError?: (error: unknown) => void;
}

/**
 * A `node:http` request handler serving the registry's metrics in its exposition format.
 *
 * - `GET`: 200, `Content-Type` is the registry's content type (`text/plain; version=0.0.4; charset=utf-8`
 *   for the Prometheus text format), `Content-Length`, `Cache-Control: no-store`, the metrics as the body.
 * - `HEAD`: the same status and headers, no body.
 * - any other method: 405 with `Allow: GET, HEAD` and
 *   `{"error":{"code":"METHOD_NOT_ALLOWED","message":"..."}}`.
 * - collection fails (a throwing `collect` callback): 500 with
 *   `{"error":{"code":"METRICS_COLLECTION_FAILED","message":"..."}}`, and `options.onError(err)`.
 *
 * It does not look at the URL: route to it yourself (typically `GET /metrics`). The request body, if
 * any, is not read.
 *
 * Throws `ERR_METRICS_INVALID_OPTION` when `registry` is not a prom-client registry or `onError` is not a
 * function.
 *
 * @param registry the registry to expose, e.g. `createMetrics().registry`.
 * @param options see {@link MetricsHandlerOptions}.
 * @example
 * import { createServer } from 'node:http';
 * import { createMetrics, metricsHandler } from '@roundguard/metrics';
 *
 * const metrics = createMetrics();
 * const serveMetrics = metricsHandler(metrics.registry);
 * createServer((req, res) => {
 *   if (new URL(req.url ?? '/', 'http://x').pathname === '/metrics') return serveMetrics(req, res);
 *   res.writeHead(404).end();
 * }).listen(9090, '127.0.0.1');
 */
export function metricsHandler(
  registry: Registry<RegistryContentType>,
  options?: MetricsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (
    registry === null ||
    typeof registry !== 'object' ||
    typeof (registry as Partial<Registry>).metrics !== 'function' ||
    typeof (registry as Partial<Registry>).contentType !== 'string'
  ) {
    throw new MetricsError(
      'ERR_METRICS_INVALID_OPTION',
      `Expected \`registry\` to be a prom-client Registry, got ${describe(registry)}`,
    );
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new MetricsError(
      'ERR_METRICS_INVALID_OPTION',
      `Expected \`options\` to be an object or undefined, got ${describe(options)}`,
    );
  }
  const onError = options?.onError;
  if (onError !== undefined && typeof onError !== 'function') {
    throw new MetricsError(
      'ERR_METRICS_INVALID_OPTION',
      `Expected \`onError\` to be a function, got ${describe(onError)}`,
    );
  }

  const fail = (res: ServerResponse, error: unknown): void => {
    try {
      onError?.(error);
    } catch {
      // A failing error callback must not turn into an unhandled rejection.
    }
    const detail = error instanceof Error ? error.message : String(error);
    sendJsonError(
      res,
      500,
      'METRICS_COLLECTION_FAILED',
      `Collecting metrics failed: ${detail.slice(0, 200)}`,
    );
  };

  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      sendJsonError(
        res,
        405,
        'METHOD_NOT_ALLOWED',
        `Method ${String(method)} is not allowed here; use GET or HEAD`,
        {
          Allow: 'GET, HEAD',
        },
      );
      return;
    }
    let text: Promise<string>;
    try {
      text = registry.metrics();
    } catch (error) {
      fail(res, error);
      return;
    }
    text.then(
      (body) => {
        if (res.destroyed) return;
        res.writeHead(200, {
          'Content-Type': registry.contentType,
          'Content-Length': String(Buffer.byteLength(body)),
          'Cache-Control': 'no-store',
        });
        if (method === 'HEAD') res.end();
        else res.end(body);
      },
      (error: unknown) => fail(res, error),
    );
  };
}
