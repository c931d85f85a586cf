// One WebSocket tunnel: the undici dispatch handler of an upgrade request (sent through the dispatcher,
// which picks its upstream as for any request), then, once the upstream answered 101, the relay of
// bytes between the two sockets, with back-pressure both ways, until either side closes. A tunnel is
// one request for the in-flight gauges, the metrics and the access log: accounted once, when it ends.
// Before 101 it ends like any exchange: the upstream's other answer is forwarded, a failure is answered
// with the proxy's JSON error (errors.ts), and the client connection is closed after it.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Outcome } from '@roundguard/metrics';
import {
  classifyUpstreamError,
  ClientAbortError,
  errorCode,
  InvalidUpstreamResponseError,
} from './errors.js';
import { CLIENT_CLOSED_REQUEST } from './exchange.js';
import { clientResponseHeaders } from './header-rules.js';
import type { ProxyContext } from './proxy-context.js';
import type { RequestHead } from './request-head.js';
import { switchingProtocolsHead } from './tunnel-head.js';
import { relay } from './tunnel-relay.js';
import { UpstreamHandler } from './upstream-handler.js';

const enum State {
  /** Sent upstream, no answer yet. */
  AwaitingHeaders,
  /** The upstream answered without 101: its answer is being forwarded. */
  Answering,
  /** Switched: bytes are relayed both ways. */
  Open,
  Done,
}

/** Why a tunnel was closed by the proxy (the access log's `error_code`). */
export type TunnelCloseReason = 'TUNNEL_IDLE_TIMEOUT' | 'SHUTTING_DOWN';

export class Tunnel extends UpstreamHandler {
  readonly client: Socket;
  /** The client's Upgrade header value, sent upstream as is. */
  readonly protocol: string;
  /** Bytes the client sent after its request head, before the upstream answered. */
  private early: Buffer;
  state = State.AwaitingHeaders;
  /** The upstream's socket once switched. */
  socket: Duplex | null = null;
  /** The answer written to the client when the upstream did not switch, or failed. */
  private res: ServerResponse | null = null;
  private resumeUpstream: (() => void) | null = null;
  /** Called once the tunnel was accounted (the registry forgets it). */
  onDone: (tunnel: Tunnel) => void = () => undefined;

  constructor(
    ctx: ProxyContext,
    req: IncomingMessage,
    client: Socket,
    early: Buffer,
    head: RequestHead,
    protocol: string,
  ) {
    super(ctx, req, head);
    this.client = client;
    this.early = early;
    this.protocol = protocol;
    client.setTimeout(0);
    client.on('error', this.onClientError);
    client.once('close', this.onClientClose);
  }

  /** Sends the upgrade request through the dispatcher, which picks the upstream. */
  start(): void {
    this.dispatch(null, this.protocol);
  }

  /** Closes the tunnel (idle timeout, end of the drain): both sockets are destroyed. */
  close(reason: TunnelCloseReason): void {
    if (this.state === State.Done) return;
    if (this.state === State.Open) {
      if (this.errorCode === '') this.errorCode = reason;
      this.client.destroy();
      this.socket?.destroy();
      return;
    }
    // Not switched yet: the client leaves, the upstream request is aborted.
    this.client.destroy();
  }

  // --- the rest of undici's DispatchHandler (legacy interface); onUpstream and onConnect are
  // UpstreamHandler's ---

  /** The upstream answered without switching: that answer goes to the client, then the connection closes. */
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode > 599) {
      this.abortUpstream?.(new InvalidUpstreamResponseError(`status code ${statusCode}`));
      return false;
    }
    if (statusCode < 200) return true;
    if (this.state !== State.AwaitingHeaders) return false;
    this.ttfbMs = performance.now() - this.head.startedAt;
    this.resumeUpstream = resume;
    const res = this.response();
    try {
      res.writeHead(statusCode, clientResponseHeaders(rawHeaders, this.head.requestId, true));
    } catch (err) {
      this.abortUpstream?.(new InvalidUpstreamResponseError(err));
      return false;
    }
    this.status = statusCode;
    this.state = State.Answering;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    const res = this.res as ServerResponse;
    if (res.write(chunk)) return true;
    res.once('drain', () => this.resumeUpstream?.());
    return false;
  }

  onComplete(): void {
    if (this.state !== State.Answering) return;
    (this.res as ServerResponse).end();
    this.finish(this.status, 'ok', '');
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    socket.on('error', this.onUpstreamError);
    if (this.state !== State.AwaitingHeaders || this.client.destroyed) {
      socket.destroy();
      this.finish(CLIENT_CLOSED_REQUEST, 'client_abort', 'CLIENT_ABORT');
      return;
    }
    this.ttfbMs = performance.now() - this.head.startedAt;
    this.status = statusCode;
    this.state = State.Open;
    this.socket = socket;
    this.client.write(switchingProtocolsHead(rawHeaders, this.head.requestId, this.protocol), 'latin1');
    if (this.early.length > 0) {
      this.bytesIn += this.early.length;
      socket.write(this.early);
    }
    this.early = EMPTY;
    relay(this, this.client, socket, this.ctx.config.tunnelIdleTimeout);
  }

  onError(err: Error): void {
    if (this.state === State.Done || this.state === State.Open) return;
    if (this.client.destroyed || err instanceof ClientAbortError) {
      this.finish(CLIENT_CLOSED_REQUEST, 'client_abort', 'CLIENT_ABORT');
      return;
    }
    if (this.state === State.AwaitingHeaders) {
      const failure = this.answerFailure(err, this.response(), true);
      this.finish(failure.status, failure.outcome, failure.reason);
    } else {
      this.client.destroy(); // the answer was streaming: cut it
      const failure = classifyUpstreamError(err);
      this.finish(this.status, failure.outcome, failure.reason);
    }
  }

  // --- the relay's reports (tunnel-relay.ts) ---

  /** Bytes went through the tunnel: from the client (`up`) or to it. */
  counted(up: boolean, n: number): void {
    if (up) this.bytesIn += n;
    else this.bytesOut += n;
  }

  /** Both sockets are closed: the tunnel ends, with the first failure seen (if any). */
  closed(): void {
    this.finish(101, this.outcome, this.errorCode);
  }

  /** No byte went either way for `--tunnel-idle-timeout`. */
  idle(): void {
    this.close('TUNNEL_IDLE_TIMEOUT');
  }

  /** A reason the tunnel ended, kept when it is the first one. */
  blame(outcome: Outcome, code: string): void {
    if (this.errorCode !== '') return;
    this.outcome = outcome;
    this.errorCode = code;
  }

  // --- sockets ---

  private readonly onClientError = (): void => {
    if (this.state === State.Open) this.blame('client_abort', 'CLIENT_ABORT');
  };

  private readonly onUpstreamError = (err: Error): void => {
    if (this.state === State.Open) this.blame('upstream_error', errorCode(err));
  };

  /** The client left before the switch (or before the answer was all out): abort the upstream request. */
  private readonly onClientClose = (): void => {
    if (this.state !== State.AwaitingHeaders && this.state !== State.Answering) return;
    if (this.state === State.Answering && this.res?.writableFinished === true) return;
    this.abort(new ClientAbortError());
  };

  /** The client's response object, for an answer that is not a switch (the connection closes after). */
  private response(): ServerResponse {
    if (this.res !== null) return this.res;
    const res = new ServerResponse(this.req);
    res.shouldKeepAlive = false;
    res.assignSocket(this.client);
    res.once('finish', () => this.client.destroySoon());
    this.res = res;
    return res;
  }

  private finish(status: number, outcome: Outcome, error: string): void {
    if (this.state === State.Done) return;
    this.state = State.Done;
    this.accountAs(status, outcome, error);
    this.onDone(this);
  }
}

const EMPTY = Buffer.alloc(0);
