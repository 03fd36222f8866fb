/**
 * Loads a YAML config file and validates it once against a zod schema. Errors name the file, line,
 * dotted path and failed rule, never the value (it may be a secret).
 *
 * What is parsed is bounded before the YAML library builds anything, because the library's cost is
 * not linear in the text: a file under 1 KB of nested complex keys took minutes to convert, and
 * deep flow nesting exhausted memory. So: a size cap, then a linear pass over the lexer's tokens
 * (flow nesting depth, no explicit `?` keys), then a walk of the parsed tree (nesting depth, plain
 * keys only, aliases counted and defined before use), and only then the conversion.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import {
  CST,
  Lexer,
  LineCounter,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
} from 'yaml';
import type { z } from 'zod';
import { KomradeError } from '../errors/index.js';
import { deepFreeze } from './deep-freeze.js';

/** The largest config file read (the examples are under 5 KB). */
export const MAX_CONFIG_BYTES = 64 * 1024;
/** How deep collections may nest (the configs need 4). */
export const MAX_CONFIG_DEPTH = 16;
/** How many aliases (`*name`) a config may use. */
export const MAX_CONFIG_ALIASES = 16;
/** How many nodes the aliases may expand to in all (the YAML library's own bound). */
const MAX_ALIAS_EXPANSION = 50;
/** How much of a key an error message shows. */
const KEY_SHOWN_CHARS = 40;

/** A key as an error may show it: JSON-quoted, non-ASCII escaped, cut to 40 characters. */
export function describeKey(key: string): string {
  const cut = key.length > KEY_SHOWN_CHARS ? `${key.slice(0, KEY_SHOWN_CHARS)}…` : key;
  // Printable ASCII only: no newline, terminal escape or bidi override reaches the output.
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (c) =>
    c === '…' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** `http.port`, `peers["a\nb"].port`, `(top level)`: a dotted path with odd keys escaped. */
function describePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `${out === '' ? '' : '.'}${segment}`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/.test(segment))
      out += `${out === '' ? '' : '.'}${segment}`;
    else out += `[${describeKey(String(segment))}]`;
  }
  return out;
}

/** One problem, already free of values: where it is and what rule failed. */
interface Problem {
  readonly offset: number | undefined;
  readonly path: readonly PropertyKey[] | undefined;
  readonly rule: string;
}

function invalid(
  headline: string,
  source: string,
  counter: LineCounter,
  problems: readonly Problem[],
): KomradeError {
  const lines = problems.map(({ offset, path, rule }) => {
    const { line, col } = counter.linePos(offset ?? 0);
    const field = path === undefined ? '' : ` ${describePath(path)}:`;
    return `${source}:${line}:${col}:${field} ${rule}`;
  });
  return new KomradeError('CONFIG_INVALID', `${headline}:\n  ${lines.join('\n  ')}`);
}

/** Lines of `text`, for positions, without parsing it. */
function countLines(text: string): LineCounter {
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    counter.addNewLine(i + 1);
  }
  return counter;
}

/** A linear pass over the lexer's tokens: the first thing that would make parsing costly. */
function lexicalProblem(text: string): Problem | undefined {
  let offset = 0;
  let flowDepth = 0;
  let lineIndicators = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'flow-map-start' || type === 'flow-seq-start') {
      if (++flowDepth > MAX_CONFIG_DEPTH) {
        return { offset, path: undefined, rule: `nested more than ${MAX_CONFIG_DEPTH} deep` };
      }
    } else if (type === 'flow-map-end' || type === 'flow-seq-end') {
      flowDepth = Math.max(0, flowDepth - 1);
    } else if (type === 'explicit-key-ind') {
      return {
        offset,
        path: undefined,
        rule: 'a key must be a plain name (explicit "?" keys are not allowed)',
      };
    } else if (type === 'seq-item-ind') {
      // `- - - x` nests on one line: bounded like flow nesting.
      if (++lineIndicators > MAX_CONFIG_DEPTH) {
        return { offset, path: undefined, rule: `nested more than ${MAX_CONFIG_DEPTH} deep` };
      }
    } else if (type === 'newline') {
      lineIndicators = 0;
    }
    // The lexer's markers for documents, scalars and flow errors are not in the text.
    if (type !== 'doc-mode' && type !== 'scalar' && type !== 'flow-error-end') {
      offset += token.length;
    }
  }
  return undefined;
}

/** Walks the parsed tree in document order: depth, plain keys, aliases after their anchors. */
function structuralProblem(doc: Document.Parsed): Problem | undefined {
  const anchors = new Set<string>();
  let aliases = 0;
  const at = (node: unknown, path: readonly PropertyKey[], rule: string): Problem => ({
    offset: isNode(node) ? node.range?.[0] : undefined,
    path,
    rule,
  });
  const visit = (node: unknown, path: PropertyKey[], depth: number): Problem | undefined => {
    if (isAlias(node)) {
      if (++aliases > MAX_CONFIG_ALIASES) {
        return at(node, path, `more than ${MAX_CONFIG_ALIASES} aliases`);
      }
      return anchors.has(node.source)
        ? undefined
        : at(node, path, 'an alias used before its anchor');
    }
    if (isNode(node) && node.anchor !== undefined) anchors.add(node.anchor);
    if (isMap(node) || isSeq(node)) {
      if (depth >= MAX_CONFIG_DEPTH) {
        return at(node, path, `nested more than ${MAX_CONFIG_DEPTH} deep`);
      }
      for (const [index, item] of node.items.entries()) {
        if (isPair(item)) {
          const key = item.key;
          if (!isScalar(key) || (typeof key.value === 'object' && key.value !== null)) {
            return at(key ?? node, path, 'a key must be a plain name (not a map, list or alias)');
          }
          if (key.anchor !== undefined) anchors.add(key.anchor);
          const problem = visit(item.value, [...path, String(key.value)], depth + 1);
          if (problem !== undefined) return problem;
        } else {
          const problem = visit(item, [...path, index], depth + 1);
          if (problem !== undefined) return problem;
        }
      }
    }
    return undefined;
  };
  return visit(doc.contents, [], 0);
}

/** The first alias in the tree, to point at when the aliases expand too far. */
function firstAliasOffset(text: string): number | undefined {
  const match = /\*[^\s,[\]{}]/.exec(text);
  return match?.index;
}

function lineOf(doc: Document.Parsed, counter: LineCounter, path: readonly PropertyKey[]): string {
  // Walk up until a node exists (a missing key is reported at its parent).
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown =
      depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      const { line, col } = counter.linePos(node.range[0]);
      return `${line}:${col}`;
    }
  }
  return '1:1';
}

/**
 * Parses YAML text against `schema`.
 * @param source - a label for messages (usually the file path)
 * @throws KomradeError `CONFIG_INVALID`, for every way the text can be wrong
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  schema: S,
  source: string,
): Readonly<z.output<S>> {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    throw new KomradeError(
      'CONFIG_INVALID',
      `Config is invalid:\n  ${source}: larger than ${MAX_CONFIG_BYTES / 1024} KiB`,
    );
  }
  const lexical = lexicalProblem(text);
  if (lexical !== undefined) {
    throw invalid('Config is invalid', source, countLines(text), [lexical]);
  }
  const counter = new LineCounter();
  // logLevel 'error': the library would otherwise print warnings that quote the text.
  const doc = parseDocument(text, {
    lineCounter: counter,
    uniqueKeys: true,
    prettyErrors: false,
    logLevel: 'error',
  });
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, 5).map((e): Problem => ({
      offset: e.pos[0],
      path: undefined,
      rule: `YAML syntax error (${e.code})`,
    }));
    throw invalid('Config is not valid YAML', source, counter, problems);
  }
  const structural = structuralProblem(doc);
  if (structural !== undefined) {
    throw invalid('Config is invalid', source, counter, [structural]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }) ?? {};
  } catch {
    // The library's message quotes the text; say only where the aliases start.
    throw invalid('Config is invalid', source, counter, [
      { offset: firstAliasOffset(text), path: undefined, rule: 'aliases expand too far' },
    ]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((issue) => {
      const where = `${source}:${lineOf(doc, counter, issue.path)}: ${describePath(issue.path)}`;
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.slice(0, 5).map(describeKey).join(', ');
        return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}`;
      }
      return `${where}: ${issue.message}`;
    });
    throw new KomradeError(
      'CONFIG_INVALID',
      `Config is invalid:\n  ${problems.join('\n  ')}\n  See the example file in config/ for every setting.`,
    );
  }
  return deepFreeze(parsed.data);
}

/** Reads at most `limit` bytes of a file (a FIFO or /dev/zero cannot make it read forever). */
function readBounded(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, limit - length, null);
      if (read === 0) break;
      length += read;
      if (length === limit) break;
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and parses a YAML config file.
 * @throws KomradeError `CONFIG_INVALID` (also when the file cannot be read, or is too large)
 */
export function loadYamlConfig<S extends z.ZodType>(
  path: string,
  schema: S,
): Readonly<z.output<S>> {
  let bytes: Buffer;
  try {
    bytes = readBounded(path, MAX_CONFIG_BYTES + 1);
  } catch (cause) {
    throw new KomradeError('CONFIG_INVALID', `Cannot read config file ${path}.`, { cause });
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new KomradeError(
      'CONFIG_INVALID',
      `Config is invalid:\n  ${path}: larger than ${MAX_CONFIG_BYTES / 1024} KiB`,
    );
  }
  return parseYamlConfig(bytes.toString('utf8'), schema, path);
}
