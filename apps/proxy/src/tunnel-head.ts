// The head of the 101 answer a tunnel sends its client: the upstream's headers under the proxy's rules
// (header-rules.ts: hop-by-hop ones dropped, Via appended, the proxy's X-Request-Id), then the
// `Connection: Upgrade` and `Upgrade` that the switch needs.
import { clientResponseHeaders, equalsLower } from './header-rules.js';

/** The Upgrade header value of the upstream's 101 answer. */
function upgradeOf(raw: readonly (Buffer | string)[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (equalsLower(String(raw[i]), 'upgrade')) return String(raw[i + 1]);
  }
  return undefined;
}

/**
 * The 101 head (status line to blank line) for the client, from the upstream's raw 101 headers;
 * `protocol` (the client's Upgrade value) stands in when the upstream sent no Upgrade header.
 */
export function switchingProtocolsHead(
  rawHeaders: readonly (Buffer | string)[] | null,
  requestId: string,
  protocol: string,
): string {
  const raw = (rawHeaders ?? []).map((h) => (typeof h === 'string' ? Buffer.from(h, 'latin1') : h));
  const headers = clientResponseHeaders(raw, requestId, false);
  let text = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}connection: Upgrade\r\nupgrade: ${upgradeOf(raw) ?? protocol}\r\n\r\n`;
}
