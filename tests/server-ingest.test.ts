/**
 * Audio ingest through the real server: the same synthetic speech sent as
 * 16 kHz PCM (the baseline), 44.1 / 48 kHz PCM, 8 kHz mu-law and A-law,
 * stereo, raw Opus packets, Ogg/Opus and WebM/Opus in uneven chunks must give
 * the same transcript (WER within 5 points of the baseline); multichannel
 * keeps each channel's words on its own channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../server/app.js';
import { normalizeTranscript, wordErrorRate } from '../eval/wer.js';
import { sharedPath } from '../testkit/paths.js';
import { startTestServer, TestClient } from '../testkit/server.js';
import { concat, readAudio16k, silence, synthesize, toS16le } from '../testkit/speech.js';
import { ffmpegEncode, oggOpusPackets, unevenSizes } from '../testkit/encode.js';
import { TEST_MODEL_WER, describeWer } from './helpers/demo-model.js';

const SENTENCES = [
  'the train leaves at seven thirty from platform nine',
  'please call stella at four fifteen tomorrow',
  'we counted forty two people at the station',
  'send the report to martha before june third',
  'the covers of this book are too far apart',
];
const REFERENCE = SENTENCES.join(' ');
const speech = concat(silence(300), ...SENTENCES.flatMap((s) => [synthesize(s), silence(900)]));

let server: RunningServer;
let baselineWer: number;

beforeAll(async () => {
  server = await startTestServer();
  baselineWer = wordErrorRate(REFERENCE, await transcribe('', (c) => c.streamBytes(toS16le(speech), [640]))).wer;
  console.log(describeWer('ingest baseline (pcm_s16le 16 kHz)', baselineWer, TEST_MODEL_WER.sentences));
  expect(baselineWer).toBeLessThan(TEST_MODEL_WER.sentences.bound);
});
afterAll(async () => {
  await server.shutdown();
});

function characterErrorRate(reference: string, hypothesis: string): number {
  const letters = (text: string) => normalizeTranscript(text).join('').split('').join(' ');
  return wordErrorRate(letters(reference), letters(hypothesis)).wer;
}

async function transcribe(query: string, send: (c: TestClient) => Promise<void>): Promise<string> {
  const client = await TestClient.connect(server.port, query);
  await send(client);
  client.send({ type: 'close' });
  await client.waitClosed(60_000);
  const errors = client.messages.filter((m) => m.type === 'error');
  expect(errors).toEqual([]);
  return client.finalText();
}

describe('every encoding gives the baseline transcript', () => {
  const ogg = () => ffmpegEncode(speech, ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg']);
  const cases: Array<[string, string, (c: TestClient) => Promise<void>]> = [
    ['pcm_s16le 44.1 kHz', 'encoding=pcm_s16le&sample_rate=44100', (c) => c.streamBytes(ffmpegEncode(speech, ['-ar', '44100', '-f', 's16le']), [1764, 882])],
    ['pcm_f32le 48 kHz', 'encoding=pcm_f32le&sample_rate=48000', (c) => c.streamBytes(ffmpegEncode(speech, ['-ar', '48000', '-f', 'f32le']), [3840, 1001])],
    ['mulaw 8 kHz', 'encoding=mulaw&sample_rate=8000', (c) => c.streamBytes(ffmpegEncode(speech, ['-ar', '8000', '-f', 'mulaw']), [160])],
    ['alaw 8 kHz', 'encoding=alaw&sample_rate=8000', (c) => c.streamBytes(ffmpegEncode(speech, ['-ar', '8000', '-f', 'alaw']), [160])],
    ['pcm_s16le 48 kHz stereo, downmixed', 'encoding=pcm_s16le&sample_rate=48000&channels=2', (c) => c.streamBytes(ffmpegEncode(speech, ['-ar', '48000', '-ac', '2', '-f', 's16le']), [3839, 4000])],
    ['raw Opus packets (48 kHz mono, 20 ms)', 'encoding=opus&sample_rate=48000', (c) => c.streamPackets(oggOpusPackets(ogg()))],
    ['Ogg/Opus in uneven chunks', 'encoding=ogg_opus', (c) => c.streamBytes(ogg(), unevenSizes(400, 1, 1500))],
    ['WebM/Opus in uneven chunks', 'encoding=webm_opus', (c) => c.streamBytes(ffmpegEncode(speech, ['-c:a', 'libopus', '-b:a', '32k', '-f', 'webm']), unevenSizes(400, 1, 1500, 7))],
  ];
  it.each(cases)('%s', async (_name, query, send) => {
    const text = await transcribe(query, send);
    const wer = wordErrorRate(REFERENCE, text).wer;
    console.log(`${_name}: WER ${(wer * 100).toFixed(1)}% "${text}"`);
    expect(wer).toBeLessThanOrEqual(baselineWer + 0.05);
  });
});

describe('multichannel', () => {
  it('keeps one synthetic speaker per channel on its own channel', async () => {
    const left = concat(silence(300), synthesize(SENTENCES[0]), silence(600), synthesize(SENTENCES[1]), silence(900));
    const right = concat(silence(1500), synthesize(SENTENCES[2], { engine: 'espeak', voice: 'en-gb' }), silence(1500));
    const stereo = ffmpegEncode([left, concat(right, silence(Math.max(0, (left.length - right.length) / 16)))], ['-f', 's16le']);
    const client = await TestClient.connect(server.port, 'encoding=pcm_s16le&channels=2&multichannel=true');
    await client.streamBytes(stereo, [1280]);
    client.send({ type: 'close' });
    await client.waitClosed(60_000);
    expect(wordErrorRate(`${SENTENCES[0]} ${SENTENCES[1]}`, client.finalText(0)).wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);
    expect(wordErrorRate(SENTENCES[2], client.finalText(1)).wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);
    // Each channel's words are its own speaker's: nearer its own sentences than the other channel's.
    expect(wordErrorRate(`${SENTENCES[0]} ${SENTENCES[1]}`, client.finalText(0)).wer).toBeLessThan(wordErrorRate(SENTENCES[2], client.finalText(0)).wer);
    expect(wordErrorRate(SENTENCES[2], client.finalText(1)).wer).toBeLessThan(wordErrorRate(`${SENTENCES[0]} ${SENTENCES[1]}`, client.finalText(1)).wer);
    expect(client.messages.filter((m) => m.type === 'final').every((m) => 'channel' in m && (m.channel === 0 || m.channel === 1))).toBe(true);
  });

  it('transcribes each channel of the shared stereo recording separately', async () => {
    const file = sharedPath('audio/stereo-two-speakers/stereo_diarization.wav');
    const planes = [readAudio16k(file, 0), readAudio16k(file, 1)];
    const stereo = ffmpegEncode(planes, ['-f', 's16le']);
    const client = await TestClient.connect(server.port, 'encoding=pcm_s16le&channels=2&multichannel=true');
    await client.streamBytes(stereo, [1280]);
    client.send({ type: 'close' });
    await client.waitClosed(60_000);
    const refs = [
      'he began a confused complaint against the wizard who had vanished behind the curtain on the left',
      'the horizon seems extremely distant',
    ];
    // Real human voices: the demo model (synthetic voices only) spells most words wrong, so
    // the check is that each channel's text is nearer, letter by letter, its own reference
    // than the other channel's: the channels are neither swapped nor mixed.
    const texts = [client.finalText(0), client.finalText(1)];
    console.log(`stereo_diarization.wav: left "${texts[0]}", right "${texts[1]}"`);
    for (const ch of [0, 1]) {
      expect(texts[ch]).not.toBe('');
      expect(characterErrorRate(refs[ch], texts[ch])).toBeLessThan(characterErrorRate(refs[1 - ch], texts[ch]));
    }
  });
});
