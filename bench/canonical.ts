/**
 * Canonical CBOR decoding on what anyone can send a client: many tiny items (`[1]` over and over,
 * the worst case per byte) and one big item (a letter's sealed body), each against a plain cborg
 * decode of the same bytes measured in the same run.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { performance } from 'node:perf_hooks';
import { decodeCanonical } from '../common/wire/index.js';

/** One input's cost: nanoseconds per byte for ours and for cborg, and ours ÷ cborg. */
export interface CanonicalBenchRow {
  readonly input: string;
  readonly bytes: number;
  readonly nsPerByte: number;
  readonly cborgNsPerByte: number;
  readonly ratio: number;
}

/** The median nanoseconds per byte of `run` over enough repetitions to take ~0.3 s. */
function nsPerByte(bytes: Uint8Array, run: (bytes: Uint8Array) => unknown): number {
  run(bytes); // warm up
  const samples: number[] = [];
  const until = performance.now() + 300;
  while (samples.length < 5 || (performance.now() < until && samples.length < 200)) {
    const started = performance.now();
    run(bytes);
    samples.push(((performance.now() - started) * 1e6) / bytes.length);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

/** Inputs: tiny items at 64 KB (a letter's limit) and 2 MB, and one 64 KB byte string. */
function inputs(): [string, Uint8Array][] {
  const tiny = (count: number) =>
    encode(
      Array.from({ length: count }, () => [1]),
      rfc8949EncodeOptions,
    );
  return [
    ['tiny items, 64 KB', tiny(32_768)],
    ['tiny items, 2 MB', tiny(1_048_576)],
    ['one big item, 64 KB', encode({ body: new Uint8Array(65_536).fill(7) }, rfc8949EncodeOptions)],
  ];
}

/** Measures each input with `decodeCanonical` and with cborg's plain `decode`. */
export function benchCanonical(): CanonicalBenchRow[] {
  return inputs().map(([input, bytes]) => {
    const ours = nsPerByte(bytes, (b) => decodeCanonical(b, 'bench'));
    const cborg = nsPerByte(bytes, (b) => decode(b));
    return {
      input,
      bytes: bytes.length,
      nsPerByte: Number(ours.toFixed(1)),
      cborgNsPerByte: Number(cborg.toFixed(1)),
      ratio: Number((ours / cborg).toFixed(2)),
    };
  });
}
