// Whether a request body is JSON, and if not, the message that says why.
import { isUtf8 } from 'node:buffer';
import { isJsonText } from './json-validate.js';

/** `undefined` for a JSON body; else the message of its 400 `INVALID_JSON` (not UTF-8, or not JSON). */
export function invalidJsonMessage(body: Buffer): string | undefined {
  // The validator agrees with JSON.parse (see json-validate.ts); JSON.parse runs only to say what is wrong.
  if (isJsonText(body)) return undefined;
  if (!isUtf8(body)) return 'the request body is not valid UTF-8';
  try {
    JSON.parse(body.toString('utf8'));
  } catch (err) {
    return `the request body is not valid JSON: ${(err as Error).message}`;
  }
  return undefined;
}
