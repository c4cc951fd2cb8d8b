/**
 * Scenario `decode`: audio ingest cost. The same 20 s of speech in every
 * encoding clients send, pushed through a fresh streaming decoder in 20 ms
 * chunks (containers in 1 KiB chunks): milliseconds of CPU per second of
 * audio, and that cost as a share of one core's real-time budget. Median of 5.
 *
 * usage: npm run bench -- decode
 */
import { createAudioDecoder } from '../engine/audio/decoder.js';
import { ffmpegEncode, oggOpusPackets } from '../testkit/encode.js';
import { concat, silence, synthesize } from '../testkit/speech.js';
import { percentile } from './lib/stats.js';

interface Case {
  name: string;
  encoding: string;
  sampleRateHz: number;
  channels: number;
  chunks: Uint8Array[];
}

function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < bytes.length; pos += size) out.push(bytes.subarray(pos, pos + size));
  return out;
}

export async function benchDecode(): Promise<object[]> {
  const sentence = synthesize('the quick brown fox jumps over the lazy dog while the band plays on');
  const speech = concat(...Array.from({ length: 8 }, () => concat(sentence, silence(300))));
  const audioS = speech.length / 16000;
  const ogg = ffmpegEncode(speech, ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg']);
  const cases: Case[] = [
    { name: 'pcm_s16le 16 kHz', encoding: 'pcm_s16le', sampleRateHz: 16000, channels: 1, chunks: cut(ffmpegEncode(speech, ['-f', 's16le']), 640) },
    { name: 'pcm_s16le 44.1 kHz', encoding: 'pcm_s16le', sampleRateHz: 44100, channels: 1, chunks: cut(ffmpegEncode(speech, ['-ar', '44100', '-f', 's16le']), 1764) },
    { name: 'pcm_f32le 48 kHz stereo', encoding: 'pcm_f32le', sampleRateHz: 48000, channels: 2, chunks: cut(ffmpegEncode(speech, ['-ar', '48000', '-ac', '2', '-f', 'f32le']), 7680) },
    { name: 'mulaw 8 kHz', encoding: 'mulaw', sampleRateHz: 8000, channels: 1, chunks: cut(ffmpegEncode(speech, ['-ar', '8000', '-f', 'mulaw']), 160) },
    { name: 'opus packets 20 ms', encoding: 'opus', sampleRateHz: 48000, channels: 1, chunks: oggOpusPackets(ogg) },
    { name: 'ogg_opus 1 KiB chunks', encoding: 'ogg_opus', sampleRateHz: 48000, channels: 1, chunks: cut(ogg, 1024) },
    { name: 'webm_opus 1 KiB chunks', encoding: 'webm_opus', sampleRateHz: 48000, channels: 1, chunks: cut(ffmpegEncode(speech, ['-c:a', 'libopus', '-b:a', '32k', '-f', 'webm']), 1024) },
  ];
  const rows: object[] = [];
  for (const c of cases) {
    const times: number[] = [];
    for (let run = 0; run < 5; run++) {
      const decoder = await createAudioDecoder({ encoding: c.encoding, sampleRateHz: c.sampleRateHz, channels: c.channels, multichannel: false });
      const t0 = process.cpuUsage();
      for (const chunk of c.chunks) await decoder.push(chunk);
      decoder.flush();
      const used = process.cpuUsage(t0);
      times.push((used.user + used.system) / 1000);
      decoder.close();
    }
    const msPerAudioS = percentile(times, 50) / audioS;
    const row = { format: c.name, cpu_ms_per_audio_s: Math.round(msPerAudioS * 100) / 100, share_of_realtime_core_pct: Math.round(msPerAudioS * 10) / 100 };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}
