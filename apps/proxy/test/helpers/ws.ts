// WebSocket ends for the tunnel tests: a real `ws` server on 127.0.0.1:0 that echoes every message (text
// stays text, binary stays binary) and keeps its connections for the test to close or reset, and a
// client that opens through the proxy and resolves once it is open (or with the answer it got instead).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface WsBackend {
  readonly server: Server;
  readonly wss: WebSocketServer;
  readonly port: number;
  readonly url: string;
  /** Handshakes accepted so far. */
  readonly handshakes: IncomingMessage[];
  /** Server-side sockets of the WebSocket connections open right now. */
  readonly sockets: Set<WebSocket>;
  close(): Promise<void>;
}

const backends = new Set<WsBackend>();

/**
 * A WebSocket echo server; `GET /health` answers 200. `onConnection` replaces the echo when given.
 */
export async function wsBackend(
  onConnection?: (ws: WebSocket, req: IncomingMessage) => void,
): Promise<WsBackend> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-length': '2' });
    res.end('ok');
  });
  const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024 });
  const handshakes: IncomingMessage[] = [];
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws, req) => {
    handshakes.push(req);
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => undefined);
    if (onConnection !== undefined) return onConnection(ws, req);
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const backend: WsBackend = {
    server,
    wss,
    port,
    url: `http://127.0.0.1:${port}`,
    handshakes,
    sockets,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  backends.add(backend);
  return backend;
}

export async function closeAllWsBackends(): Promise<void> {
  const all = [...backends];
  backends.clear();
  await Promise.all(all.map((b) => b.close()));
}

/** The raw TCP socket under a `ws` WebSocket (for resets in tests). */
export function rawSocketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

export interface Opened {
  readonly ws: WebSocket;
  /** The 101 answer's headers. */
  readonly headers: IncomingMessage['headers'];
}

/** Opens `ws://127.0.0.1:port/path` and resolves once open. */
export function openWs(
  port: number,
  path = '/',
  options: { headers?: Record<string, string> } = {},
): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
      headers: options.headers,
      maxPayload: 64 * 1024 * 1024,
    });
    let headers: IncomingMessage['headers'] = {};
    ws.once('upgrade', (res) => (headers = res.headers));
    ws.once('open', () => resolve({ ws, headers }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected response ${res.statusCode}`));
      res.resume();
    });
  });
}

export interface Refused {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** Opens a WebSocket that is expected not to switch: resolves with the answer the client got. */
export function refusedWs(port: number, path = '/'): Promise<Refused> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.on('error', () => undefined);
    ws.once('open', () => reject(new Error('the WebSocket opened')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.once('error', reject);
    });
  });
}

/** The next message of `ws`, with whether it was binary. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new Error('closed before a message'));
    ws.once('message', (data, isBinary) => {
      ws.off('close', onClose);
      resolve({ data: data as Buffer, isBinary });
    });
    ws.once('close', onClose);
  });
}

/** Resolves with the close code and reason once `ws` is closed. */
export function closedWith(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: 1006, reason: '' });
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}
