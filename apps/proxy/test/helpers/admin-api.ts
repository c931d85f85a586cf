// Helpers for the admin write API tests: backends that can hold requests open, and calls of the API.
import { closeAllBackends, httpBackend, type HttpBackend } from './backends.js';
import { request, type Response } from './http.js';

export { closeAllBackends };

/** A backend that answers `x-backend: NAME`, and holds requests to `/hold...` until `release()`. */
export interface HoldingBackend extends HttpBackend {
  readonly name: string;
  /** Requests held now. */
  readonly held: number;
  /** Answers every held request (200). */
  release(): void;
}

export async function holdingBackend(name: string): Promise<HoldingBackend> {
  const waiting: (() => void)[] = [];
  const backend = await httpBackend((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
        res.end('{}');
      };
      if (req.url?.startsWith('/hold') === true) waiting.push(answer);
      else answer();
    });
  });
  return Object.defineProperties(backend, {
    name: { value: name },
    held: { get: () => waiting.length },
    release: {
      value: () => {
        for (const answer of waiting.splice(0)) answer();
      },
    },
  }) as HoldingBackend;
}

export const TOKEN = 'test-admin-token-0123456789';

/** One admin API call: JSON body (given as a value, or a raw string), the token unless `auth` says otherwise. */
export function api(
  adminUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return request(`${adminUrl}${path}`, {
    method,
    body: raw,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(raw === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
  });
}

/** The `{"error":{"code"}}` of an answer. */
export function codeOf(res: Response): string | undefined {
  try {
    return res.json<{ error?: { code?: string } }>().error?.code;
  } catch {
    return undefined;
  }
}

/** Sends `n` POSTs one after the other on fresh connections; counts the answers by `x-backend`. */
export async function spread(proxyUrl: string, n: number, path = '/w'): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(`${proxyUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const name = res.status === 200 ? String(res.headers['x-backend']) : `status ${res.status}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
