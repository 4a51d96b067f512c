/**
 * `host:port` addresses as Thanos flags write them (`0.0.0.0:10901`, `:10901`, `[::1]:10901`,
 * `localhost:0`). Shared by listeners (runtime adapters) and clients (querier endpoints).
 */

/** A parsed address; `host` is "" when the address names only a port (listen on all interfaces). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`; throws an Error naming the address when it is malformed. */
export function splitHostPort(address: string): HostPort {
  let host: string;
  let portText: string;
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    if (end < 0 || address[end + 1] !== ":") throw new Error(`invalid address ${JSON.stringify(address)}: want [ipv6]:port`);
    host = address.slice(1, end);
    portText = address.slice(end + 2);
  } else {
    const i = address.lastIndexOf(":");
    if (i < 0) throw new Error(`invalid address ${JSON.stringify(address)}: missing port (want host:port)`);
    host = address.slice(0, i);
    portText = address.slice(i + 1);
    if (host.includes(":")) throw new Error(`invalid address ${JSON.stringify(address)}: IPv6 hosts need brackets, e.g. [::1]:10901`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`invalid address ${JSON.stringify(address)}: port ${JSON.stringify(portText)} is not a number in 0..65535`);
  }
  return { host, port: Number(portText) };
}

/** Formats host and port back to `host:port`, bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
