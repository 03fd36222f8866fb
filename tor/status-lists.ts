/** Reading circuit and stream lists: `GETINFO circuit-status`/`stream-status` and CIRC/STREAM events. */
import { parseKeywords } from './control-reply.js';

/** One circuit, as in `circuit-status` or a CIRC event body. */
export interface CircuitStatus {
  readonly id: string;
  /** LAUNCHED, BUILT, EXTENDED, FAILED, CLOSED, … */
  readonly status: string;
  /** Relay fingerprints (`$…~name`), guard first. */
  readonly path: readonly string[];
  readonly purpose?: string;
  /** The SOCKS username the circuit is isolated to, when any: sensitive, do not log. */
  readonly socksUsername?: string;
}

/** One stream, as in `stream-status` or a STREAM event body. */
export interface StreamStatus {
  readonly id: string;
  /** NEW, SENTCONNECT, SUCCEEDED, FAILED, CLOSED, … */
  readonly status: string;
  /** The circuit carrying it; `0` while unattached. */
  readonly circuitId: string;
  /** `host:port` as the client asked for it. */
  readonly target: string;
  readonly socksUsername?: string;
}

/** Parses one circuit line (or CIRC event body). */
export function parseCircuitLine(line: string): CircuitStatus | undefined {
  const { positional, keywords } = parseKeywords(line);
  const [id, status, path] = positional;
  if (id === undefined || status === undefined || !/^\d+$/.test(id)) return undefined;
  const purpose = keywords.get('PURPOSE');
  const socksUsername = keywords.get('SOCKS_USERNAME');
  return {
    id,
    status,
    path: path === undefined ? [] : path.split(','),
    ...(purpose === undefined ? {} : { purpose }),
    ...(socksUsername === undefined ? {} : { socksUsername }),
  };
}

/** Parses one stream line (or STREAM event body). */
export function parseStreamLine(line: string): StreamStatus | undefined {
  const { positional, keywords } = parseKeywords(line);
  const [id, status, circuitId, target] = positional;
  if (id === undefined || status === undefined || circuitId === undefined || target === undefined) {
    return undefined;
  }
  const socksUsername = keywords.get('SOCKS_USERNAME');
  return {
    id,
    status,
    circuitId,
    target,
    ...(socksUsername === undefined ? {} : { socksUsername }),
  };
}

/** Parses the value of `GETINFO circuit-status` (one circuit a line). */
export function parseCircuitStatus(value: string): readonly CircuitStatus[] {
  return value.split('\n').flatMap((line) => {
    const circuit = parseCircuitLine(line.trim());
    return circuit === undefined ? [] : [circuit];
  });
}

/** Parses the value of `GETINFO stream-status` (one stream a line). */
export function parseStreamStatus(value: string): readonly StreamStatus[] {
  return value.split('\n').flatMap((line) => {
    const stream = parseStreamLine(line.trim());
    return stream === undefined ? [] : [stream];
  });
}
