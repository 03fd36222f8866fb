/** Cutting a long text into messages a chat accepts. */

/**
 * Cuts `text` into chunks of at most `limit` characters, at line breaks where that keeps each
 * chunk at least half full.
 */
export function splitText(text: string, limit: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit);
    if (cut < limit / 2) cut = limit;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  chunks.push(rest);
  return chunks;
}
