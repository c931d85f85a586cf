// Loopback ports.
import { createServer, type AddressInfo } from 'node:net';

/**
 * A TCP port on `host` that was free a moment ago: bound by the kernel's choice, then released. Nothing
 * listens on it (connecting is refused) until someone binds it.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
