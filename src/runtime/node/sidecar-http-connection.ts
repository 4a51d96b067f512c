/**
 * Connections of the sidecar's Node remote-read client (sidecar-http-post.ts): sockets that read
 * into one reused buffer (`onread`), and the pool of idle keep-alive connections per host:port.
 */
import net from "node:net";

/** Idle keep-alive connections kept per host:port. */
const MAX_IDLE_PER_HOST = 4;

/** Size of a connection's reused read buffer. */
const READ_BUFFER_BYTES = 128 * 1024;

/** A connection and the receiver of its reads (the current exchange, or the idle pool). */
export interface Conn {
  readonly socket: net.Socket;
  /** The reused read buffer; valid only during the call. */
  readonly buffer: Buffer;
  onRead: (n: number) => void;
}

/** Opens a connection to `host:port` whose reads land in its own reused buffer. */
export function connect(host: string, port: number): Conn {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const conn: Conn = {
    socket: undefined as unknown as net.Socket,
    buffer,
    onRead: () => {},
  };
  (conn as { socket: net.Socket }).socket = net.connect({ host, port, noDelay: true, onread: { buffer, callback: (n) => (conn.onRead(n), true) } });
  return conn;
}

/** A pooled connection turned out closed before it answered: the request may be retried on a new one. */
export class StaleConnectionError extends Error {
  override name = "StaleConnectionError";
}

/** An idle pooled connection and the listener that drops it when the server closes it or sends bytes. */
export interface IdleConn {
  readonly conn: Conn;
  readonly drop: () => void;
}

/** Takes a usable idle connection to `key` (host:port) from the pool, dropping dead ones; undefined if none. */
export function takeIdle(pool: Map<string, IdleConn[]>, key: string): Conn | undefined {
  const list = pool.get(key);
  for (let e = list?.pop(); e; e = list?.pop()) {
    const s = e.conn.socket;
    s.off("end", e.drop).off("close", e.drop).off("error", e.drop);
    if (!s.destroyed && s.readyState === "open") {
      s.ref();
      return e.conn;
    }
    s.destroy();
  }
  return undefined;
}

/** Returns a connection whose response was read to the end to the pool (or closes it when the pool is full). */
export function putIdle(pool: Map<string, IdleConn[]>, key: string, conn: Conn): void {
  let list = pool.get(key);
  if (!list) pool.set(key, (list = []));
  const s = conn.socket;
  if (list.length >= MAX_IDLE_PER_HOST) return void s.destroy();
  const entry: IdleConn = {
    conn,
    // Any byte or close while idle makes the connection unusable.
    drop: () => {
      s.destroy();
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    },
  };
  conn.onRead = entry.drop;
  s.once("end", entry.drop).once("close", entry.drop).once("error", entry.drop);
  s.unref(); // idle connections do not keep the process alive
  list.push(entry);
}
