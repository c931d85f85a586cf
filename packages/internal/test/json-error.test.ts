import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonErrorBody, sendJsonError } from '@roundguard/internal';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer(handler);
  return new Promise((resolve) =>
    server!.listen(0, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port)),
  );
}

function get(port: number): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('jsonErrorBody', () => {
  it('is {"error":{"code","message"}} with the message escaped', () => {
    expect(jsonErrorBody('BAD', 'a "quoted"\nline')).toBe(
      '{"error":{"code":"BAD","message":"a \\"quoted\\"\\nline"}}',
    );
  });
});

describe('sendJsonError', () => {
  it('writes the status, the JSON body, its byte length, no-store and the extra headers', async () => {
    const port = await serve((_req, res) =>
      sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET ✓', { Allow: 'GET' }),
    );
    const { status, headers, body } = await get(port);
    expect(status).toBe(405);
    expect(JSON.parse(body)).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'use GET ✓' } });
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(headers['cache-control']).toBe('no-store');
    expect(headers.allow).toBe('GET');
  });

  it('only ends a response whose head was already sent', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      sendJsonError(res, 500, 'FAILED', 'too late');
    });
    const { status, body } = await get(port);
    expect(status).toBe(200);
    expect(body).toBe('partial');
  });
});
