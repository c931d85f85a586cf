// Which hosts are loopback: what the tests may connect to (see loopback-only.ts).
import { isIP } from 'node:net';

/** Whether `host` is a loopback address (or `localhost`, which resolves to one). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const ipv4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  if (isIP(ipv4) === 4) return ipv4.startsWith('127.');
  return isIP(bare) === 6 && (bare === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(bare));
}
