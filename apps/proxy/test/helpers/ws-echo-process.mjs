// A WebSocket echo server in its own process (to be killed in a test): prints its port, then echoes.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
  process.stdout.write(`${wss.address().port}\n`);
});
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
