/**
 * Loads a YAML config file and validates it once against a zod schema. Errors name the file, line,
 * dotted path and failed rule, never the value (it may be a secret).
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { z } from 'zod';
import { KomradeError } from '../errors/index.js';
import { deepFreeze } from './deep-freeze.js';

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: readonly PropertyKey[],
): string {
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
 * @throws KomradeError `CONFIG_INVALID`
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  schema: S,
  source: string,
): Readonly<z.output<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, 5).map((e) => {
      const pos = e.linePos?.[0];
      return `${source}:${pos?.line ?? 1}:${pos?.col ?? 1}: YAML syntax error (${e.code})`;
    });
    throw new KomradeError(
      'CONFIG_INVALID',
      `Config is not valid YAML:\n  ${problems.join('\n  ')}`,
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 50 }) ?? {};
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((issue) => {
      const keys =
        issue.code === 'unrecognized_keys'
          ? ` (unknown key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')})`
          : '';
      const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
      return `${source}:${lineOf(doc, counter, issue.path)}: ${field}: ${message}${keys}`;
    });
    throw new KomradeError(
      'CONFIG_INVALID',
      `Config is invalid:\n  ${problems.join('\n  ')}\n  See the example file in config/ for every setting.`,
    );
  }
  return deepFreeze(parsed.data);
}

/**
 * Reads and parses a YAML config file.
 * @throws KomradeError `CONFIG_INVALID` (also when the file cannot be read)
 */
export function loadYamlConfig<S extends z.ZodType>(
  path: string,
  schema: S,
): Readonly<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new KomradeError('CONFIG_INVALID', `Cannot read config file ${path}.`, { cause });
  }
  return parseYamlConfig(text, schema, path);
}
