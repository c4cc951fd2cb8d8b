/**
 * Fuzzing every audio decoder with random bytes and with real streams that are
 * mutated, truncated and re-chunked: the only error allowed out is
 * AudioDecodeError, every output is finite with equal-length channels, and a
 * decoder that declared its stream dead keeps saying so. Bounded in time.
 */
import { describe, expect, it } from 'vitest';
import { AudioDecodeError, createAudioDecoder } from '../engine/audio/decoder.js';
import { ffmpegEncode, oggOpusPackets } from '../testkit/encode.js';
import { concat, silence, synthesize } from '../testkit/speech.js';

const BUDGET_MS = 1500;
const speech = concat(silence(200), synthesize('fuzzing the audio decoders'), silence(200));
const STREAMS = {
  ogg_opus: ffmpegEncode(speech, ['-c:a', 'libopus', '-b:a', '24k', '-f', 'ogg']),
  webm_opus: ffmpegEncode(speech, ['-c:a', 'libopus', '-b:a', '24k', '-f', 'webm']),
  pcm_s16le: ffmpegEncode(speech, ['-ar', '44100', '-f', 's16le']),
};
const OPUS_PACKETS = oggOpusPackets(STREAMS.ogg_opus);

function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const kind = random();
  if (kind < 0.5) {
    for (let i = 0, n = 1 + Math.floor(random() * 8); i < n; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
    return out;
  }
  if (kind < 0.75) return out.subarray(0, Math.floor(random() * out.length));
  const from = Math.floor(random() * out.length);
  return concatBytes(out.subarray(0, from), out.subarray(from + Math.floor(random() * 64)));
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function chunks(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const size = 1 + Math.floor(random() * 2000);
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/** Feeds `inputs` and checks the decoder's contract; returns how the run ended. */
async function feed(encoding: string, options: { sampleRateHz: number; channels: number }, inputs: Uint8Array[]): Promise<'ok' | 'recovered' | 'dead'> {
  const decoder = await createAudioDecoder({ encoding, multichannel: false, ...options });
  let outcome: 'ok' | 'recovered' | 'dead' = 'ok';
  try {
    for (const input of inputs) {
      try {
        check(await decoder.push(input));
      } catch (err) {
        expect(err).toBeInstanceOf(AudioDecodeError);
        const e = err as AudioDecodeError;
        expect(e.message.length).toBeGreaterThan(10);
        if (!e.recoverable) {
          await expect(decoder.push(new Uint8Array(8))).rejects.toBe(e);
          return 'dead';
        }
        outcome = 'recovered';
      }
    }
    check(decoder.flush());
    return outcome;
  } finally {
    decoder.close();
  }
}

function check(planes: Float32Array[]): void {
  expect(planes).toHaveLength(1);
  for (const x of planes[0]) if (!Number.isFinite(x)) throw new Error(`non-finite sample ${x}`);
}

describe.each([
  ['ogg_opus', { sampleRateHz: 48000, channels: 1 }],
  ['webm_opus', { sampleRateHz: 48000, channels: 1 }],
  ['opus', { sampleRateHz: 48000, channels: 1 }],
  ['pcm_s16le', { sampleRateHz: 44100, channels: 1 }],
  ['pcm_f32le', { sampleRateHz: 22050, channels: 2 }],
  ['mulaw', { sampleRateHz: 8000, channels: 1 }],
  ['alaw', { sampleRateHz: 8000, channels: 1 }],
])('%s decoder under fuzzing', (encoding, options) => {
  it('survives random bytes', async () => {
    const random = lcg(encoding.length);
    const end = performance.now() + BUDGET_MS / 2;
    let runs = 0;
    while (performance.now() < end) {
      const inputs = Array.from({ length: 1 + Math.floor(random() * 20) }, () => Uint8Array.from({ length: Math.floor(random() * 1500) }, () => Math.floor(random() * 256)));
      await feed(encoding, options, inputs);
      runs++;
    }
    expect(runs).toBeGreaterThan(3);
  });

  it('survives mutated, truncated and re-chunked real streams', async () => {
    const random = lcg(99 + encoding.length);
    const end = performance.now() + BUDGET_MS;
    const outcomes = { ok: 0, recovered: 0, dead: 0 };
    while (performance.now() < end) {
      let inputs: Uint8Array[];
      if (encoding === 'opus') inputs = OPUS_PACKETS.map((p) => (random() < 0.1 ? mutate(p, random) : p)).filter((p) => p.length > 0);
      else {
        const source = encoding in STREAMS ? STREAMS[encoding as keyof typeof STREAMS] : STREAMS.pcm_s16le;
        inputs = chunks(mutate(source, random), random);
      }
      outcomes[await feed(encoding, options, inputs)]++;
    }
    expect(outcomes.ok + outcomes.recovered + outcomes.dead).toBeGreaterThan(2);
  });
});
