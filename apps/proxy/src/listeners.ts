// The proxy's listening addresses (`--host`, repeatable): one HTTP server takes the connections of all of
// them. The first address is the server's own listener; each other one is a plain TCP listener that
// hands its connections to that server, so the drain, the connection tracking and the timeouts see one
// server whatever the number of addresses.
import type { Server } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '@roundguard/logger';
import { listen } from './runtime.js';

export interface Listeners {
  /** Where the proxy listens, in `--host` order. */
  readonly addresses: readonly AddressInfo[];
  /** Stops accepting on the addresses after the first (the drain closes the server itself). */
  closeExtra(): void;
}

/**
 * Listens on every host, or logs `cannot listen` and exits 1. With port 0 the first host gets a free
 * port and the others take the same one.
 */
export async function listenOnHosts(
  server: Server,
  port: number,
  hosts: readonly string[],
  logger: Logger,
): Promise<Listeners> {
  const [first = '0.0.0.0', ...others] = hosts;
  const addresses: AddressInfo[] = [await listen(server, port, first, logger)];
  const extra: NetServer[] = [];
  for (const host of others) {
    const listener = createServer({ noDelay: true }, (socket: Socket) => server.emit('connection', socket));
    listener.on('error', (err) => logger.error('listener error', { err, host }));
    extra.push(listener);
    addresses.push(await listen(listener, addresses[0]!.port, host, logger));
  }
  return {
    addresses,
    closeExtra: () => {
      for (const listener of extra) listener.close();
    },
  };
}
