/** Reading REST request bodies: JSON, or multipart as discord.js sends uploads. */
import type { IncomingMessage } from 'node:http';
import type { RawData } from 'ws';

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, or multipart with `payload_json` and `files[n]` as discord.js sends attachments. */
export function parseBody(
  contentType: string,
  raw: Buffer,
): { json: unknown; files: { filename: string; size: number; data: Buffer }[] } {
  if (raw.length === 0) return { json: undefined, files: [] };
  const boundary = /^multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined) return { json: JSON.parse(raw.toString('utf8')), files: [] };
  const files: { filename: string; size: number; data: Buffer }[] = [];
  let json: unknown = undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  let at = raw.indexOf(delimiter);
  while (at !== -1) {
    const next = raw.indexOf(delimiter, at + delimiter.length);
    if (next === -1) break;
    // Each part: CRLF, headers, blank line, content, CRLF before the next delimiter.
    const part = raw.subarray(at + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString('utf8');
    const content = part.subarray(split + 4);
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (filename !== undefined) {
      files.push({ filename, size: content.length, data: Buffer.from(content) });
    } else if (name === 'payload_json') json = JSON.parse(content.toString('utf8'));
    at = next;
  }
  return { json, files };
}

export function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
