/**
 * The baseline: a bare node:http server that reads a request body and answers a small JSON object,
 * the least any HTTP server on this machine can do per request. Run as its own process, like the
 * Operator, and prints its port.
 */
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const size = chunks.reduce((n, c) => n + c.length, 0);
    const body = JSON.stringify({ ok: true, size });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object')
    process.stdout.write(`listening ${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
