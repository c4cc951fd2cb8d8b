/**
 * A WebSocket echo server for the `ws` transport bench, run as its own
 * process: `node --import tsx bench/lib/echo-server.ts <uws|ws>`. Every
 * message goes back unchanged on the same socket. Prints
 * `listening on ws://127.0.0.1:PORT` once ready; exits on SIGTERM.
 */
import uWS from 'uWebSockets.js';
import { WebSocketServer } from 'ws';

const MAX_PAYLOAD_BYTES = 1 << 20;
const kind = process.argv[2];

function ready(port: number): void {
  console.log(`listening on ws://127.0.0.1:${port}`);
}

if (kind === 'uws') {
  uWS
    .App()
    .ws('/*', { maxPayloadLength: MAX_PAYLOAD_BYTES, message: (ws, message, isBinary) => void ws.send(message, isBinary) })
    .listen('127.0.0.1', 0, (socket) => {
      if (!socket) throw new Error('uWS echo server: cannot listen');
      ready(uWS.us_socket_local_port(socket));
    });
} else if (kind === 'ws') {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_PAYLOAD_BYTES });
  server.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  server.on('listening', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error(`unexpected address ${address}`);
    ready(address.port);
  });
} else {
  console.error('usage: echo-server.ts <uws|ws>');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
