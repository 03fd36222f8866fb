/**
 * The PROXY protocol v1 line tor writes before each stream of an onion service configured with
 * `HiddenServiceExportCircuitID haproxy`: `PROXY TCP6 fc00:dead:beef:4dad::XXXX:YYYY ::1 SRC DST\r\n`,
 * where the low 32 bits of the source address are the id of the circuit the stream came on
 * (https://spec.torproject.org/haproxy-proxy.html).
 */

/** The longest v1 line the PROXY spec allows, CRLF included. */
export const MAX_PROXY_LINE_BYTES = 107;

/** What one PROXY line says. */
export interface ProxyHeader {
  /** The circuit's id: the low 32 bits of the source address. */
  readonly circuit: number;
  readonly source: string;
  readonly destinationPort: number;
}

const LINE = /^PROXY TCP6 ([0-9a-f:]{2,39}) ([0-9a-f:]{2,39}) (\d{1,5}) (\d{1,5})$/i;

/**
 * Parses a PROXY v1 line (without its CRLF). Returns `undefined` for anything else: a line of
 * another family, a malformed address or port, or extra bytes.
 */
export function parseProxyLine(line: string): ProxyHeader | undefined {
  const match = LINE.exec(line);
  if (match === null) return undefined;
  const [, source = '', , , destination = ''] = match;
  const words = ipv6Words(source);
  const port = Number(destination);
  if (words === undefined || port > 65_535) return undefined;
  const high = words[6] ?? 0;
  const low = words[7] ?? 0;
  return { circuit: high * 0x1_0000 + low, source, destinationPort: port };
}

/** The eight 16-bit words of an IPv6 address in hex notation (`::` allowed once), or undefined. */
function ipv6Words(address: string): number[] | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const words = part.split(':');
    if (words.some((word) => !/^[0-9a-f]{1,4}$/i.test(word))) return undefined;
    return words.map((word) => parseInt(word, 16));
  };
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...Array.from({ length: missing }, () => 0), ...tail];
}

/**
 * Splits the first CRLF-terminated line off `buffered`. `undefined` while no CRLF arrived within
 * the longest allowed line; `false` when the bytes cannot start a PROXY line.
 */
export function takeProxyLine(
  buffered: Buffer,
): { readonly line: string; readonly rest: Buffer } | undefined | false {
  const end = buffered.indexOf('\r\n');
  if (end === -1) {
    const prefix = 'PROXY '.slice(0, Math.min(6, buffered.length));
    if (buffered.subarray(0, prefix.length).toString('latin1') !== prefix) return false;
    return buffered.length >= MAX_PROXY_LINE_BYTES ? false : undefined;
  }
  if (end + 2 > MAX_PROXY_LINE_BYTES || !buffered.subarray(0, 6).equals(Buffer.from('PROXY '))) {
    return false;
  }
  return { line: buffered.subarray(0, end).toString('latin1'), rest: buffered.subarray(end + 2) };
}
