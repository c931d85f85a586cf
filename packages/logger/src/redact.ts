/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are always redacted, compared without regard to case: credentials carried by HTTP
 * headers. `proxy-authenticate`/`www-authenticate` are challenges, not credentials, and are kept.
 */
export const DEFAULT_REDACT_KEYS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

/** Decides, fast, whether the value under a key is redacted. Built once per root logger. */
export class Redactor {
  readonly #keys: ReadonlySet<string>;
  /** `#lengths[n]` is true when some redacted key has `n` UTF-16 units: most keys are ruled out by length. */
  readonly #lengths: readonly boolean[];

  constructor(extraKeys: readonly string[] = []) {
    const keys = new Set<string>();
    for (const key of [...DEFAULT_REDACT_KEYS, ...extraKeys]) keys.add(key.toLowerCase());
    const lengths: boolean[] = [];
    for (const key of keys) lengths[key.length] = true;
    this.#keys = keys;
    this.#lengths = Array.from(lengths, (x) => x === true);
  }

  /** Whether the value under `key` must be replaced by {@link REDACTED}. */
  isSensitive(key: string): boolean {
    return this.#lengths[key.length] === true && this.#keys.has(key.toLowerCase());
  }

  /**
   * A copy of a Node.js `rawHeaders`-style list (`[name, value, name, value, ...]`) with the value after
   * each sensitive name redacted.
   */
  redactRawHeaders(list: readonly unknown[]): unknown[] {
    const out = list.slice();
    for (let i = 0; i + 1 < out.length; i += 2) {
      const name = out[i];
      if (typeof name === 'string' && this.isSensitive(name)) out[i + 1] = REDACTED;
    }
    return out;
  }
}
