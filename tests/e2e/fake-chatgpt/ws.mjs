// A minimal WebSocket server side (RFC 6455) for the fake chatgpt.com: the handshake, text frames of
// any length out, the client's masked frames in (text, close, ping), close answered with close.
// No extensions, no fragmentation on the way out. Enough for a page's socket, nothing more.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One server-side frame: FIN set, `opcode`, unmasked payload. */
export function frame(opcode, payload) {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '', 'utf8');
  const n = bytes.length;
  let head;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, bytes]);
}

export const closePayload = (code = 1000) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code, 0);
  return b;
};

/**
 * Completes the upgrade of `req` on `socket` and returns a socket object: `send(text)`,
 * `close(code)` (a close frame, then the end), `destroy()` (the connection just drops), events
 * 'message' (text), 'close' (page closed or connection gone). Null when the request is no upgrade.
 */
export function accept(req, socket) {
  const key = req.headers['sec-websocket-key'];
  if (!key) return null;
  const digest = crypto.createHash('sha1').update(`${key}${GUID}`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${digest}\r\n\r\n`);
  socket.setNoDelay?.(true);
  const ws = new EventEmitter();
  let buffer = Buffer.alloc(0);
  let closing = false;
  let gone = false;
  const done = () => {
    if (gone) return;
    gone = true;
    ws.emit('close');
  };
  socket.on('close', done);
  socket.on('error', () => {});
  ws.open = () => !gone && !socket.destroyed;
  ws.send = (text) => {
    if (ws.open() && !closing) socket.write(frame(1, text));
  };
  ws.close = (code = 1000) => {
    if (!ws.open() || closing) return;
    closing = true;
    socket.end(frame(8, closePayload(code)));
  };
  ws.destroy = () => socket.destroy();
  socket.on('data', (data) => {
    buffer = Buffer.concat([buffer, data]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0] & 0x0f;
      const masked = (buffer[1] & 0x80) !== 0;
      let len = buffer[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      const mask = masked ? buffer.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (buffer.length < at + len) return;
      const payload = Buffer.from(buffer.subarray(at, at + len));
      buffer = buffer.subarray(at + len);
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      if (opcode === 8) { // the page closed: answer with a close, then the connection ends
        if (!closing) {
          closing = true;
          socket.end(frame(8, closePayload(1000)));
        }
        return;
      }
      if (opcode === 9) socket.write(frame(10, payload));
      else if (opcode === 1) ws.emit('message', payload.toString('utf8'));
    }
  });
  return ws;
}
