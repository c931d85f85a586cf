import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { webSocketUpgrade } from '../../src/upgrade.js';

const withHeaders = (...rawHeaders: string[]): IncomingMessage => ({ rawHeaders }) as IncomingMessage;

describe('webSocketUpgrade', () => {
  it.each([
    [['Upgrade', 'websocket'], 'websocket'],
    [['upgrade', 'WebSocket'], 'WebSocket'],
    [['Upgrade', ' websocket '], 'websocket'],
    [['Upgrade', 'h2c, websocket'], 'h2c, websocket'],
  ])('takes %j as a WebSocket handshake (Upgrade value %j sent upstream)', (headers, value) => {
    expect(webSocketUpgrade(withHeaders(...headers))).toBe(value);
  });

  it.each([
    [[]],
    [['Upgrade', 'h2c']],
    [['Upgrade', 'websocket2']],
    [['Upgrade', '']],
    [['Upgrade', 'websocket', 'Upgrade', 'websocket']],
    [['X-Upgrade', 'websocket']],
  ])('does not take %j as a WebSocket handshake', (headers) => {
    expect(webSocketUpgrade(withHeaders(...headers))).toBeUndefined();
  });
});
