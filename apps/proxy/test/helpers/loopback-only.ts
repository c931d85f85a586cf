// Loaded before every test file (vitest `setupFiles`): a connection the test process opens to anything but
// loopback (127.0.0.0/8, ::1, `localhost`) or a local socket path throws at once, so that a test can never
// send traffic elsewhere, not even to probe whether an address answers. The proxy and echo processes the
// tests start only ever get loopback URLs from them.
import { Socket } from 'node:net';
import { isLoopback } from './loopback.js';

/** Where a call of `Socket.prototype.connect` goes: a host, or undefined for a local socket path. */
function destination(args: unknown[]): string | undefined {
  // net.connect() hands the socket its arguments already normalized, as [options, callback].
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'string') return undefined; // connect(path)
  if (typeof first === 'number') return typeof args[1] === 'string' ? args[1] : 'localhost';
  const options = (first ?? {}) as { path?: unknown; host?: unknown };
  if (typeof options.path === 'string') return undefined;
  return typeof options.host === 'string' ? options.host : 'localhost';
}

type Connect = (this: Socket, ...args: unknown[]) => Socket;
const connect = Object.getOwnPropertyDescriptor(Socket.prototype, 'connect')?.value as Connect;
function loopbackOnlyConnect(this: Socket, ...args: unknown[]): Socket {
  const host = destination(args);
  if (host !== undefined && !isLoopback(host))
    throw new Error(`a test tried to connect to ${host}: tests connect to loopback only (127.0.0.0/8, ::1)`);
  return connect.apply(this, args);
}
Object.defineProperty(Socket.prototype, 'connect', {
  value: loopbackOnlyConnect,
  writable: true,
  configurable: true,
});
