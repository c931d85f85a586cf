// The request target (RFC 9112 3.2) and the host syntax it shares with the Host header: origin-form is
// sent upstream as it is; absolute-form (`http://host/path`) is split once, when the head is read, into
// the authority the validation compares with Host and the origin-form target sent upstream.

/**
 * Characters of a Host value (RFC 9110 7.2, RFC 3986 3.2.2: reg-name, IP-literal, port): unreserved,
 * pct-encoded, sub-delims, `:` and the brackets of an IPv6 literal. No space, `/`, `@`, `?`, `#`, ...
 */
const HOST_CHARS = (() => {
  const table = new Uint8Array(128);
  const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]";
  for (let i = 0; i < allowed.length; i++) table[allowed.charCodeAt(i)] = 1;
  return table;
})();

/** A syntactically valid Host value (empty is valid: RFC 9110 7.2, a target without authority). */
export function isValidHost(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || HOST_CHARS[c] !== 1) return false;
  }
  return true;
}

/** An absolute-form target the proxy accepts, split. */
export interface AbsoluteForm {
  readonly https: boolean;
  /** `host[:port]`: valid host characters, not empty, no userinfo (RFC 9110 4.2.4). */
  readonly authority: string;
  /** The origin-form target: the path (`/` when empty) and query, unchanged. */
  readonly path: string;
}

const ABSOLUTE_FORM = /^(https?):\/\/([^/?#]*)([^#]*)$/i;

/** Splits an absolute-form target; `undefined` when it is not one the proxy accepts. */
export function absoluteForm(url: string): AbsoluteForm | undefined {
  const match = ABSOLUTE_FORM.exec(url);
  if (match === null) return undefined;
  const authority = match[2] as string;
  if (authority === '' || authority.charCodeAt(0) === 58 /* : */ || !isValidHost(authority)) return undefined;
  const rest = match[3] as string;
  return {
    https: (match[1] as string).length === 5,
    authority,
    path: rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`,
  };
}

/** Whether a request target is in origin form (`/path?query`). */
export function isOriginForm(url: string): boolean {
  return url.charCodeAt(0) === 47; /* / */
}

/**
 * The origin-form target to send upstream (`/path?query`): the request target itself when it is in
 * origin form; the path and query of an absolute-form target (`http://host/path`, RFC 9112 3.2.2), as
 * sent (no normalization); `undefined` for anything else (asterisk-form, authority-form, garbage).
 */
export function originFormTarget(url: string): string | undefined {
  if (isOriginForm(url)) return url;
  return absoluteForm(url)?.path;
}

/** Host values equal ignoring case and the scheme's default port (`h`, `h:` and `h:80` for http). */
export function sameAuthority(authority: string, host: string, https: boolean): boolean {
  return withoutDefaultPort(authority, https) === withoutDefaultPort(host, https);
}

function withoutDefaultPort(hostPort: string, https: boolean): string {
  const lower = hostPort.toLowerCase();
  const colon = lower.lastIndexOf(':');
  if (colon === -1 || lower.indexOf(']', colon) !== -1) return lower; // no port (or inside an IPv6 literal)
  const port = lower.slice(colon + 1);
  return port === '' || port === (https ? '443' : '80') ? lower.slice(0, colon) : lower;
}
