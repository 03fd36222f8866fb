/**
 * A recording reverse proxy between the onion service's tor and the Operator: it strips tor's
 * PROXY line (keeping the circuit id), lets Node's HTTP parser read each request, forwards it to
 * the Operator and records both sides. The Operator itself is unchanged and never sees the line.
 */
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { ObservedRequest } from './observation.js';
import { parseProxyLine, takeProxyLine } from './proxy-protocol.js';

/** A running proxy. */
export interface RecordingProxy {
  /** The loopback port tor's `HiddenServicePort` points at. */
  readonly port: number;
  /** Every request answered so far, in order of arrival. */
  readonly requests: () => readonly ObservedRequest[];
  /** Connections refused because they did not start with a PROXY line. */
  readonly refused: () => number;
  close(): Promise<void>;
}

interface ConnectionInfo {
  readonly connection: number;
  readonly circuit: number | undefined;
}

// Hop-by-hop headers: they describe one connection, not the request.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
 * `requireProxyLine` (default true) refuses connections that do not start with tor's PROXY line.
 */
export async function startRecordingProxy(
  upstream: string,
  options: { readonly requireProxyLine?: boolean } = {},
): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const requireLine = options.requireProxyLine ?? true;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const recorded: ObservedRequest[] = [];
  const connections = new WeakMap<net.Socket, ConnectionInfo>();
  const open = new Set<net.Socket>();
  let connectionCount = 0;
  let seq = 0;
  let refused = 0;

  const http = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const info = connections.get(req.socket);
    const at = Date.now();
    const mySeq = seq++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const bodyAt = Date.now();
      const headers = flatHeaders(req.headers);
      const forwarded: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) {
        if (!HOP_BY_HOP.has(name)) forwarded[name] = value;
      }
      forwarded['content-length'] = String(body.length);
      const record = (status: number, answer: Buffer): void => {
        recorded.push({
          seq: mySeq,
          connection: info?.connection ?? -1,
          circuit: info?.circuit,
          at,
          bodyAt,
          answeredAt: Date.now(),
          method: req.method ?? '',
          path: req.url ?? '',
          headers,
          body,
          status,
          answer,
        });
      };
      const upstreamRequest = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: forwarded,
          agent,
        },
        (upstreamResponse) => {
          const answerChunks: Buffer[] = [];
          upstreamResponse.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          upstreamResponse.on('error', () => res.destroy());
          upstreamResponse.on('end', () => {
            const answer = Buffer.concat(answerChunks);
            const status = upstreamResponse.statusCode ?? 502;
            record(status, answer);
            for (const [name, value] of Object.entries(flatHeaders(upstreamResponse.headers))) {
              if (!HOP_BY_HOP.has(name) && name !== 'content-length') res.setHeader(name, value);
            }
            if (upstreamResponse.headers.connection === 'close')
              res.setHeader('connection', 'close');
            res.setHeader('content-length', answer.length);
            res.writeHead(status);
            res.end(answer);
          });
        },
      );
      upstreamRequest.on('error', () => {
        record(502, Buffer.alloc(0));
        if (!res.headersSent) res.writeHead(502, { 'content-length': 0 });
        res.end();
      });
      upstreamRequest.end(body);
    });
  });

  const server = net.createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    const connection = connectionCount++;
    const handOver = (circuit: number | undefined, rest: Buffer): void => {
      connections.set(socket, { connection, circuit });
      if (rest.length > 0) socket.unshift(rest);
      http.emit('connection', socket);
    };
    if (!requireLine) {
      handOver(undefined, Buffer.alloc(0));
      return;
    }
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const taken = takeProxyLine(buffered);
      if (taken === undefined) return;
      socket.off('data', onData);
      const header = taken === false ? undefined : parseProxyLine(taken.line);
      if (taken === false || header === undefined) {
        refused += 1;
        socket.destroy();
        return;
      }
      socket.pause();
      handOver(header.circuit, taken.rest);
      socket.resume();
    };
    socket.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests: () => [...recorded].sort((a, b) => a.seq - b.seq),
    refused: () => refused,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      http.close();
      agent.destroy();
    },
  };
}
