/*
 * Record timestamps. Formatting a date costs more than the rest of a small record, and a busy process
 * writes many records in the same millisecond, so the last rendering is kept.
 */

let isoMs = Number.NaN;
let isoText = '';

/** `ms` (epoch milliseconds) as ISO 8601 in UTC: `2026-11-25T22:10:00.123Z`. */
export function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
}

let clockMs = Number.NaN;
let clockText = '';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `ms` as local wall-clock time, `HH:MM:SS.mmm` (the time column of pretty lines). */
export function wallClock(ms: number): string {
  if (ms !== clockMs) {
    const d = new Date(ms);
    const millis = d.getMilliseconds();
    clockText = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${millis < 100 ? (millis < 10 ? '00' : '0') : ''}${millis}`;
    clockMs = ms;
  }
  return clockText;
}
