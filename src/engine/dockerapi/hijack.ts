/**
 * Hijacked connections, as Docker's attach and exec start use them: after the response
 * headers the connection carries the container's raw or multiplexed output one way and the
 * client's input the other. Clients ask for `Upgrade: tcp` and get 101 UPGRADED; a request
 * without the upgrade header gets 200 and the same raw stream on the connection.
 */
import type { Duplex } from 'node:stream';
import type { Call } from './router.js';
import { versionAtLeast } from './version.js';

/** The content type Docker names for a stream (multiplexed from API 1.42 when there is no TTY). */
export function streamContentType(version: string, tty: boolean): string {
  return !tty && versionAtLeast(version, '1.42')
    ? 'application/vnd.docker.multiplexed-stream'
    : 'application/vnd.docker.raw-stream';
}

/**
 * Takes over the connection: writes the status line and headers and returns the socket
 * (bytes the client sent after its headers are put back first).
 */
export function hijack(c: Call, tty: boolean): Duplex {
  const type = streamContentType(c.version, tty);
  if (c.upgrade) {
    const { socket, head } = c.upgrade;
    c.upgrade.hijacked = true;
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    if (head.length) socket.unshift(head);
    return socket;
  }
  const res = c.res!;
  // No chunking and no length: the body is the raw stream until the connection closes.
  (res as { useChunkedEncodingByDefault: boolean }).useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  res.writeHead(200, { 'Content-Type': type, Connection: 'close' });
  res.flushHeaders();
  return res.socket as Duplex;
}
