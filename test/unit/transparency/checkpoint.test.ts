/**
 * C2SP signed notes and checkpoints: Go's published note vectors (golang.org/x/mod sumdb/note)
 * reproduced byte for byte, the spec's rules for unknown and bad signatures, strict parsing of
 * checkpoint bodies, witness cosignatures, and hostile notes refused without a throw.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateIdentityKeys, identityKeysFromSecrets } from '../../../common/crypto/index.js';
import type { Result } from '../../../common/errors/index.js';
import {
  MAX_NOTE_SIGNATURES,
  cosignNote,
  emptyRoot,
  formatCheckpoint,
  formatSignedNote,
  leafHash,
  noteKeyId,
  noteSigner,
  noteVerifier,
  openCheckpoint,
  openSignedNote,
  parseCheckpoint,
  parseSignedNote,
  signCheckpoint,
  signNote,
  type Checkpoint,
} from '../../../common/transparency/index.js';

interface GoNoteVectors {
  text: string;
  peter: {
    name: string;
    keyId: string;
    signerKey: string;
    verifierKey: string;
    signatureLine: string;
  };
  enoch: { name: string; keyId: string; verifierKey: string; signatureLine: string };
  c2spCheckpointExample: string;
}
const V = JSON.parse(
  readFileSync(new URL('../../fixtures/transparency/go-signed-note.json', import.meta.url), 'utf8'),
) as GoNoteVectors;

/** The key bytes of a Go note key (name+keyid+base64(0x01 ‖ key)), minus the type byte. */
const goKey = (encoded: string): Uint8Array => {
  const [, , ...rest] = encoded.replace(/^PRIVATE\+KEY\+/, '').split('+');
  const bytes = Buffer.from(rest.join('+'), 'base64');
  expect(bytes[0]).toBe(0x01);
  return Uint8Array.from(bytes.subarray(1));
};
const codeOf = <T>(r: Result<T>): string => (r.ok ? 'ok' : r.error.code);

const peterKeys = identityKeysFromSecrets(goKey(V.peter.signerKey), randomBytes(32));
const peterSigner = noteSigner(V.peter.name, peterKeys);
const peter = noteVerifier(V.peter.name, goKey(V.peter.verifierKey));
const enoch = noteVerifier(V.enoch.name, goKey(V.enoch.verifierKey));
const signedByBoth = `${V.text}\n${V.peter.signatureLine}${V.enoch.signatureLine}`;

describe('signed notes: Go sumdb/note vectors', () => {
  it('derives the published key IDs', () => {
    expect(peter.keyId.toString(16).padStart(8, '0')).toBe(V.peter.keyId);
    expect(enoch.keyId.toString(16).padStart(8, '0')).toBe(V.enoch.keyId);
    expect(Buffer.from(peterKeys.signPublic)).toEqual(Buffer.from(peter.publicKey));
  });

  it('signs the published text to the published note, byte for byte', () => {
    expect(signNote(V.text, [peterSigner])).toBe(`${V.text}\n${V.peter.signatureLine}`);
  });

  it('verifies with one known key and ignores the unknown one', () => {
    const opened = openSignedNote(signedByBoth, [peter]);
    expect(opened.ok && opened.value.text).toBe(V.text);
    expect(opened.ok && opened.value.verifiedBy.map((v) => v.name)).toEqual(['PeterNeumann']);
    const both = openSignedNote(Buffer.from(signedByBoth), [peter, enoch]);
    expect(both.ok && both.value.verifiedBy.map((v) => v.name)).toEqual([
      'PeterNeumann',
      'EnochRoot',
    ]);
  });

  it('refuses a note no trusted key signed', () => {
    expect(codeOf(openSignedNote(signedByBoth, []))).toBe('BAD_SIGNATURE');
    const stranger = noteVerifier('PeterNeumann', generateIdentityKeys().signPublic);
    expect(codeOf(openSignedNote(signedByBoth, [stranger]))).toBe('BAD_SIGNATURE');
  });

  it("refuses the whole note when a known key's signature does not verify", () => {
    const line = V.peter.signatureLine;
    const mangled = `${V.text}\n${line.slice(0, 60)}ABCD${line.slice(60)}${V.enoch.signatureLine}`;
    expect(codeOf(openSignedNote(mangled, [peter, enoch]))).toBe('BAD_SIGNATURE');
    const otherText = signedByBoth.replace('problem is', 'problem was');
    expect(codeOf(openSignedNote(otherText, [enoch]))).toBe('BAD_SIGNATURE');
  });

  it('refuses the malformed notes of the Go test suite as DECODE_FAILED', () => {
    const sig = V.peter.signatureLine;
    const bad = [
      V.text,
      `${V.text}\n`,
      `${V.text}\n${sig.slice(0, -1)}`,
      `\u0001${V.text}\n${sig}`,
      `${V.text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${V.text}\n${sig}Unexpected line.\n`,
    ];
    for (const note of bad) expect(codeOf(openSignedNote(note, [peter]))).toBe('DECODE_FAILED');
    const invalidUtf8 = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${V.text}\n${sig}`)]);
    expect(codeOf(openSignedNote(invalidUtf8, [peter]))).toBe('DECODE_FAILED');
  });

  it('round-trips parse and format, and accepts 16 signatures but not 33', () => {
    const parsed = parseSignedNote(signedByBoth);
    expect(parsed.ok && formatSignedNote(parsed.value)).toBe(signedByBoth);
    const sixteen = `${V.text}\n${V.peter.signatureLine.repeat(16)}`;
    expect(openSignedNote(sixteen, [peter]).ok).toBe(true);
    const tooMany = `${V.text}\n${V.peter.signatureLine.repeat(MAX_NOTE_SIGNATURES + 1)}`;
    expect(codeOf(openSignedNote(tooMany, [peter]))).toBe('DECODE_FAILED');
  });
});

describe('signed notes: hostile input', () => {
  const good = `${V.text}\n${V.peter.signatureLine}`;
  const cases: [string, unknown][] = [
    ['CRLF line ends', good.replaceAll('\n', '\r\n')],
    ['a tab', good.replace('you', 'you\t')],
    ['a lone surrogate', good.replace('you', 'you\ud800')],
    ['no blank line', good.replace('\n\n', '\n')],
    ['no em dash', good.replace('\u2014', '-')],
    ['two spaces', good.replace('\u2014 ', '\u2014  ')],
    ['a plus in the key name', good.replace('PeterNeumann', 'Peter+Neumann')],
    ['a no-break space in the key name', good.replace('PeterNeumann', 'Peter\u00a0Neumann')],
    ['url-safe base64', good.replace('x08go/', 'x08go_')],
    ['base64 without padding', good.replace('AM=\n', 'AM\n')],
    ['a signature of 4 bytes', `${V.text}\n\u2014 PeterNeumann AAAAAA==\n`],
    ['an oversized note', `${'a'.repeat(70_000)}\n\n${V.peter.signatureLine}`],
    ['not text', 42],
    ['null', null],
  ];
  it.each(cases)('refuses %s without throwing', (_, note) => {
    const opened = openSignedNote(note as string, [peter]);
    expect(opened.ok).toBe(false);
  });

  it('a signature line with the right name but another key ID is ignored', () => {
    const line = V.peter.signatureLine;
    const bytes = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    bytes[0]! ^= 0xff;
    const otherId = `${V.text}\n\u2014 PeterNeumann ${bytes.toString('base64')}\n`;
    const parsed = parseSignedNote(otherId);
    expect(parsed.ok).toBe(true);
    expect(codeOf(openSignedNote(otherId, [peter]))).toBe('BAD_SIGNATURE');
    expect(openSignedNote(`${otherId}${V.enoch.signatureLine}`, [peter, enoch]).ok).toBe(true);
  });
});

describe('checkpoints', () => {
  const origin = 'komrade.example/registry';
  const logKeys = generateIdentityKeys();
  const log = noteSigner(origin, logKeys);
  const trust = { origin, log: noteVerifier(origin, logKeys.signPublic) };
  const checkpoint: Checkpoint = {
    origin,
    size: 20852163,
    rootHash: leafHash(Buffer.from('root')),
    extensions: [],
  };

  it('parses the C2SP example body exactly; its unknown key makes the note untrusted', () => {
    const parsed = parseSignedNote(V.c2spCheckpointExample);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const body = parseCheckpoint(parsed.value.text);
    expect(body.ok && body.value.origin).toBe('example.com/behind-the-sofa');
    expect(body.ok && body.value.size).toBe(20852163);
    expect(body.ok && Buffer.from(body.value.rootHash).toString('base64')).toBe(
      'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
    );
    expect(body.ok && formatCheckpoint(body.value)).toBe(parsed.value.text);
    expect(parsed.value.signatures[0]?.name).toBe('example.com/behind-the-sofa');
    const other = { ...trust, origin: 'example.com/behind-the-sofa' };
    expect(codeOf(openCheckpoint(V.c2spCheckpointExample, other))).toBe('BAD_SIGNATURE');
  });

  it('signs and opens a checkpoint; the key ID follows the signed-note rule', () => {
    const note = signCheckpoint(checkpoint, log);
    const [text] = note.split('\n\n');
    expect(`${text}\n`).toBe(
      `${origin}\n20852163\n${Buffer.from(checkpoint.rootHash).toString('base64')}\n`,
    );
    const opened = openCheckpoint(note, trust);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.value.checkpoint).toEqual(checkpoint);
    expect(opened.value.witnesses).toEqual([]);
    expect(trust.log.keyId).toBe(noteKeyId(origin, logKeys.signPublic));
  });

  it('the empty tree has size 0 and the empty root', () => {
    const empty = { origin, size: 0, rootHash: emptyRoot(), extensions: [] };
    const opened = openCheckpoint(signCheckpoint(empty, log), trust);
    expect(opened.ok && opened.value.checkpoint.size).toBe(0);
  });

  it('reports witnesses that cosigned, ignores unknown ones, refuses a bad witness signature', () => {
    const witnessKeys = generateIdentityKeys();
    const witness = noteSigner('witness.example/w1', witnessKeys);
    const stranger = noteSigner('witness.example/w2', generateIdentityKeys());
    const cosigned = cosignNote(signCheckpoint(checkpoint, log), witness);
    expect(cosigned.ok).toBe(true);
    if (!cosigned.ok) return;
    const twice = cosignNote(cosigned.value, stranger);
    if (!twice.ok) throw twice.error;
    const withWitness = {
      ...trust,
      witnesses: [noteVerifier('witness.example/w1', witnessKeys.signPublic)],
    };
    const opened = openCheckpoint(twice.value, withWitness);
    expect(opened.ok && opened.value.witnesses).toEqual(['witness.example/w1']);
    // Cosigning again replaces the witness's own line rather than adding a second one.
    const again = cosignNote(cosigned.value, witness);
    expect(again.ok && again.value).toBe(cosigned.value);
    // A witness line that does not verify spoils the note.
    const lines = cosigned.value.split('\n');
    const witnessLine = lines.findIndex((l) => l.includes('witness.example/w1'));
    const [, , sig] = lines[witnessLine]!.split(' ');
    const broken = Buffer.from(sig!, 'base64');
    broken[10]! ^= 1;
    lines[witnessLine] = `\u2014 witness.example/w1 ${broken.toString('base64')}`;
    expect(codeOf(openCheckpoint(lines.join('\n'), withWitness))).toBe('BAD_SIGNATURE');
  });

  it('needs the log signature: a witness alone, another origin or another key is refused', () => {
    const witnessKeys = generateIdentityKeys();
    const witness = noteSigner('witness.example/w1', witnessKeys);
    const text = formatCheckpoint(checkpoint);
    const witnessOnly = signNote(text, [witness]);
    const withWitness = {
      ...trust,
      witnesses: [noteVerifier('witness.example/w1', witnessKeys.signPublic)],
    };
    expect(codeOf(openCheckpoint(witnessOnly, withWitness))).toBe('BAD_SIGNATURE');
    const elsewhere = signCheckpoint({ ...checkpoint, origin: 'evil.example/log' }, log);
    expect(codeOf(openCheckpoint(elsewhere, trust))).toBe('BAD_SIGNATURE');
    const impostor = noteSigner(origin, generateIdentityKeys());
    expect(codeOf(openCheckpoint(signCheckpoint(checkpoint, impostor), trust))).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('keeps opaque extension lines (signed with the rest), refuses empty ones', () => {
    const extended = { ...checkpoint, extensions: ['ext one', 'ext two'] };
    const opened = openCheckpoint(signCheckpoint(extended, log), trust);
    expect(opened.ok && opened.value.checkpoint.extensions).toEqual(['ext one', 'ext two']);
    const root = Buffer.from(checkpoint.rootHash).toString('base64');
    expect(codeOf(parseCheckpoint(`${origin}\n1\n${root}\n\next\n`))).toBe('DECODE_FAILED');
  });

  const root = Buffer.from(checkpoint.rootHash).toString('base64');
  const malformed: [string, string][] = [
    ['a leading zero', `${origin}\n020\n${root}\n`],
    ['two zeros', `${origin}\n00\n${root}\n`],
    ['a plus sign', `${origin}\n+1\n${root}\n`],
    ['a minus zero', `${origin}\n-0\n${root}\n`],
    ['a space', `${origin}\n 1\n${root}\n`],
    ['hex', `${origin}\n0x10\n${root}\n`],
    ['an exponent', `${origin}\n1e3\n${root}\n`],
    ['a size past 2^53 − 1', `${origin}\n9007199254740992\n${root}\n`],
    ['a 17-digit size', `${origin}\n12345678901234567\n${root}\n`],
    ['a 31-byte root', `${origin}\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['a 33-byte root', `${origin}\n1\n${Buffer.alloc(33).toString('base64')}\n`],
    ['non-canonical base64', `${origin}\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n`],
    ['url-safe base64', `${origin}\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n`],
    ['unpadded base64', `${origin}\n1\n${root.replace('=', '')}\n`],
    ['an empty origin', `\n1\n${root}\n`],
    ['two lines', `${origin}\n1\n`],
    ['no final newline', `${origin}\n1\n${root}`],
    ['an overlong origin', `${'o'.repeat(1025)}\n1\n${root}\n`],
    ['too many extension lines', `${origin}\n1\n${root}\n${'x\n'.repeat(17)}`],
  ];
  it.each(malformed)('refuses a checkpoint body with %s', (_, text) => {
    expect(codeOf(parseCheckpoint(text))).toBe('DECODE_FAILED');
  });

  it('accepts the boundary values', () => {
    expect(codeOf(parseCheckpoint(`${origin}\n9007199254740991\n${root}\n`))).toBe('ok');
    expect(codeOf(parseCheckpoint(`${origin}\n0\n${root}\n`))).toBe('ok');
    expect(codeOf(parseCheckpoint(`${origin}\n1\n${root}\n${'x\n'.repeat(16)}`))).toBe('ok');
  });

  it('refuses to format what it could not parse back', () => {
    expect(() => formatCheckpoint({ ...checkpoint, size: -1 })).toThrow();
    expect(() => formatCheckpoint({ ...checkpoint, origin: 'a\nb' })).toThrow();
    expect(() => formatCheckpoint({ ...checkpoint, rootHash: new Uint8Array(31) })).toThrow();
    expect(() => formatCheckpoint({ ...checkpoint, extensions: [''] })).toThrow();
  });
});
