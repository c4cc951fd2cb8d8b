/**
 * The live page in a real browser: Debian's Chromium, driven by
 * playwright-core, against the real server on 127.0.0.1. The microphone is
 * Chromium's fake capture device playing a WAV of espeak-ng speech (48 kHz,
 * silence around it), so the whole browser path runs: getUserMedia, the
 * AudioWorklet, 16 kHz framing, the WebSocket client, partials and finals on
 * screen. Then the transcript is saved encrypted, the SQLite file is read
 * directly to check it holds no plaintext, the page is reloaded, the
 * transcript opened with the password (a wrong one first), exported as JSON
 * and SRT, and deleted, and the row is checked gone from the database. A
 * second test picks the same WAV as a file and checks every sample of it
 * reached the server. A third checks the notice the page shows while a
 * shipped demo model serves (synthetic voices only), and its absence with
 * another model.
 *
 * Then the upload: a conversation (two espeak voices taking turns) is
 * recorded three times, each in a fresh browser whose fake microphone plays
 * it, with speaker labels on: with the page's automatic choice (Opus packets
 * from WebCodecs), with uncompressed PCM, and with WebCodecs removed from the
 * page (it falls back to MediaRecorder's WebM/Opus). The bytes of the binary
 * frames the page sends are counted from Chromium's side of the WebSocket;
 * kbit/s is that over the audio the server says it received. Opus must be at
 * most a fifth of PCM, and every run gets finals with speaker labels. The
 * Opus run writes a screenshot mid-recording (level meter, a partial, finals
 * with speakers, the latency readout) and prints its path; every run checks
 * the level meter rose with the speech.
 *
 * A server with sign-in on refuses a page without a valid token: the page
 * says so in words, not as a lost connection. Last, the minimal example page (client/examples/browser.html, served at
 * /examples/browser.html) records the sentence through /client.js.
 *
 * The final text is checked against what was said, within the demo model's
 * measured bound (tests/helpers/demo-model.ts).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clock, parseTranscriptJson, toSrt } from '../client/export.js';
import type { RunningServer } from '../server/app.js';
import { DB_FILE_NAME } from '../server/store/sqlite-store.js';
import { DEMO_MODEL_DIR } from '../engine/models/resolve.js';
import { ffmpegEncode } from '../testkit/encode.js';
import { startTestServer } from '../testkit/server.js';
import { sharedPath } from '../testkit/paths.js';
import { concat, silence, synthesize } from '../testkit/speech.js';
import { TEST_MODEL_WER, describeWer } from './helpers/demo-model.js';
import { wordErrorRate } from '../eval/wer.js';

const CHROMIUM = '/usr/bin/chromium';
const SENTENCE = 'please call stella and ask her to bring these things with her from the store';
const TITLE = 'Quarterly zebra minutes';
const PASSWORD = 'correct horse battery staple';
/** Strings that any plaintext copy of the saved transcript contains, whatever the model heard. */
const PLAINTEXT_MARKERS = ['Quarterly', 'zebra', 'minutes', '"segments"', 'start_ms'];
const SCREENSHOT = path.join(os.tmpdir(), 'live-transcribe-browser-test.png');
const DEMO_SCREENSHOT = path.join(os.tmpdir(), 'live-transcribe-demo-notice.png');
const LIVE_SCREENSHOT = path.join(os.tmpdir(), 'live-transcribe-live-page.png');
/** Two voices taking turns, for the upload and speaker tests. */
const CONVERSATION = [
  { text: 'please call stella and ask her to bring these things with her from the store', voice: 'en-us' },
  { text: 'six spoons of fresh snow peas and five thick slabs of blue cheese', voice: 'en-us+f3' },
  { text: 'and maybe a snack for her brother bob', voice: 'en-us' },
];

const root = mkdtempSync(path.join(os.tmpdir(), 'lt-browser-'));
const dataDir = path.join(root, 'data');
const dbPath = path.join(dataDir, DB_FILE_NAME);
const wavPath = path.join(root, 'speech.wav');
const speech = concat(silence(1000), synthesize(SENTENCE), silence(2500));
const conversationWavPath = path.join(root, 'conversation.wav');
const conversation = concat(silence(1000), ...CONVERSATION.flatMap((turn) => [synthesize(turn.text, { engine: 'espeak', voice: turn.voice }), silence(1500)]), silence(1500));
const browsers: BrowserContext[] = [];
let server: RunningServer | null = null;
let browser: BrowserContext | null = null;
let origin = '';

afterAll(async () => {
  for (const b of browsers) await b.close();
  await server?.shutdown();
  rmSync(root, { recursive: true, force: true });
});

/** A 16-bit mono PCM WAV file: the format Chromium's fake capture device reads. */
function wavFile(pcm: Uint8Array, sampleRateHz: number): Uint8Array {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRateHz, 24);
  header.writeUInt32LE(sampleRateHz * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

interface StoredRow {
  owner: string;
  id: string;
  envelope: string;
}

/** The rows as the database file holds them, read with a connection of our own. */
function storedRows(): StoredRow[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], StoredRow>('SELECT owner, id, envelope FROM transcripts').all();
  } finally {
    db.close();
  }
}

/** The database file and its write-ahead log, raw: where a plaintext copy would show up. */
function rawDatabaseBytes(): Buffer {
  return Buffer.concat([dbPath, `${dbPath}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

async function statusText(page: Page): Promise<string> {
  return (await page.locator('#status').textContent()) ?? '';
}

async function waitForStatus(page: Page, pattern: RegExp, timeoutMs: number): Promise<void> {
  try {
    await page.locator('#status').filter({ hasText: pattern }).waitFor({ timeout: timeoutMs });
  } catch (err) {
    throw new Error(`status never matched ${pattern}; it says "${await statusText(page)}" (${(err as Error).message.split('\n')[0]})`);
  }
}

/** A Chromium whose fake microphone plays `wav` once, from the start, to the first page that opens it. */
async function launchBrowser(wav: string, profile: string): Promise<BrowserContext> {
  const launched = await chromium.launchPersistentContext(path.join(root, profile), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    timeout: 60_000,
    // Chromium (and the sound library it loads) make scratch folders under the XDG folders: keep them in ours.
    env: { ...process.env, XDG_CACHE_HOME: path.join(root, 'cache'), XDG_CONFIG_HOME: path.join(root, 'config'), XDG_RUNTIME_DIR: path.join(root, 'run') },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      // %noloop: play the file once, then silence (by default it loops).
      `--use-file-for-fake-audio-capture=${wav}%noloop`,
    ],
  });
  browsers.push(launched);
  return launched;
}

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run .ci/install-system-deps (Debian package chromium)`).toBe(true);
  const toWav48k = (audio: Float32Array) => wavFile(ffmpegEncode(audio, ['-ar', '48000', '-ac', '1', '-f', 's16le']), 48_000);
  writeFileSync(wavPath, toWav48k(speech));
  writeFileSync(conversationWavPath, toWav48k(conversation));
  server = await startTestServer({ dataDir, diarizationModel: sharedPath('models/pyannote-segmentation-3.0/model.int8.onnx') });
  origin = `http://127.0.0.1:${server.port}`;
  browser = await launchBrowser(wavPath, 'profile');
});

/** A fresh tab on the page, with its errors and console lines collected. */
async function openPage(url = `${origin}/`, context = browser!): Promise<{ page: Page; pageErrors: string[]; consoleLines: string[] }> {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const consoleLines: string[] = [];
  page.on('console', (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(url);
  return { page, pageErrors, consoleLines };
}

it('records from a (fake) microphone, saves encrypted, reopens, exports and deletes, in Chromium', async () => {
  const { page, pageErrors, consoleLines } = await openPage();

  // The client library is served as one ES module too.
  // A string, not a function: vitest would rewrite a dynamic import() inside a function.
  const exported = (await page.evaluate(`import('${origin}/client.js').then((m) => Object.keys(m))`)) as string[];
  expect(exported).toEqual(expect.arrayContaining(['ListenClient', 'TranscriptDocument', 'encryptTranscript', 'captureMicrophone', 'toSrt']));

  // Record: the speech becomes a final (Silero VAD cuts it) while the fake microphone plays.
  await page.locator('#record').click();
  await page
    .locator('#transcript li.final')
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(async (err: Error) => {
      const shown = await page.locator('#transcript').innerText();
      throw new Error(`no final: status "${await statusText(page)}", transcript ${JSON.stringify(shown)}, console ${JSON.stringify(consoleLines)} (${err.message.split('\n')[0]})`);
    });
  await page.locator('#stop').click();
  await waitForStatus(page, /^Done: /, 30_000);
  // The test server serves a shipped demo model: its ready says so, and so does the page.
  expect(await page.locator('#demo-notice').isVisible()).toBe(true);
  const [, receivedS, finalsSent] = /^Done: ([\d.]+) s of audio, (\d+) final/.exec(await statusText(page)) ?? [];
  const speechMs = (speech.length / 16_000) * 1000;
  // The fake device played the 1 s of silence and the speech at least: frames flowed, none lost on the way.
  expect(Number(receivedS) * 1000).toBeGreaterThan(speechMs - 2500);
  const finalRows = page.locator('#transcript li.final');
  expect(await finalRows.count()).toBe(Number(finalsSent));
  expect(await page.locator('#transcript li.partial').count()).toBe(0);
  const texts = await page.locator('#transcript li.final .text').allTextContents();
  const times = await page.locator('#transcript li.final .time').allTextContents();
  for (const time of times) expect(time).toMatch(/^\d\d:\d\d:\d\d$/);
  const heard = texts.join(' ').replace(/\s+/g, ' ').trim();
  const wer = wordErrorRate(SENTENCE, heard).wer;
  console.log(`${describeWer('browser transcript', wer, TEST_MODEL_WER.sentence)}: ${JSON.stringify(heard)}; said: ${JSON.stringify(SENTENCE)}`);
  expect(wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);

  // Save, encrypted.
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#title').fill(TITLE);
  await page.locator('#save').click();
  await waitForStatus(page, /^Saved, encrypted/, 30_000);

  const rows = storedRows();
  expect(rows.length).toBe(1);
  const [row] = rows;
  expect(row.owner).toBe('local');
  const envelope = JSON.parse(row.envelope) as { ciphertext: string; transcript_id: string; transcript_version: number };
  expect(envelope.transcript_id).toBe(row.id);
  expect(envelope.transcript_version).toBe(1);
  const raw = rawDatabaseBytes();
  const plaintextWords = [...PLAINTEXT_MARKERS, ...heard.split(' ').filter((w) => w.length >= 5)];
  for (const word of plaintextWords) {
    expect(raw.includes(Buffer.from(word)), `the database files hold "${word}" in plain text`).toBe(false);
  }
  // The envelope's readable fields hold nothing of the transcript either.
  for (const word of plaintextWords) expect(row.envelope.replace(envelope.ciphertext, '')).not.toContain(word);

  // Reload: the list comes from the server; open it, first with a wrong password.
  await page.reload();
  const savedRow = page.locator(`#saved li[data-id="${row.id}"]`);
  await savedRow.waitFor();
  expect(await page.locator('#transcript li').count()).toBe(0);
  await page.locator('#password').fill('not the password');
  await savedRow.getByRole('button', { name: /^Open/ }).click();
  await waitForStatus(page, /^Cannot decrypt: wrong password/, 30_000);
  expect(await page.locator('#transcript li').count()).toBe(0);
  await page.locator('#password').fill(PASSWORD);
  await savedRow.getByRole('button', { name: /^Open/ }).click();
  await waitForStatus(page, /^Opened and decrypted/, 30_000);
  expect(await page.locator('#title').inputValue()).toBe(TITLE);
  expect(await page.locator('#transcript li.final .text').allTextContents()).toEqual(texts);
  expect(await page.locator('#transcript li.final .time').allTextContents()).toEqual(times);

  // Export JSON and SRT: the JSON holds the segments shown, the SRT is exactly their subtitles.
  const downloadText = async (format: string): Promise<{ name: string; text: string }> => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`button[data-export="${format}"]`).click()]);
    return { name: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
  };
  const json = await downloadText('json');
  expect(json.name).toBe(`${TITLE}.json`);
  const file = parseTranscriptJson(json.text);
  expect(file.title).toBe(TITLE);
  expect(file.segments.map((seg) => seg.text)).toEqual(texts);
  expect(file.segments.map((seg) => clock(seg.start_ms, '.').slice(0, 8))).toEqual(times);
  // Segments lie within the audio the server received.
  for (const seg of file.segments) {
    expect(seg.end_ms).toBeGreaterThan(seg.start_ms);
    expect(seg.end_ms).toBeLessThanOrEqual(Number(receivedS) * 1000 + 1);
  }
  const srt = await downloadText('srt');
  expect(srt.name).toBe(`${TITLE}.srt`);
  expect(srt.text).toBe(toSrt(file.segments));
  const cues = srt.text === '' ? [] : srt.text.trimEnd().split('\n\n');
  expect(cues.length).toBe(texts.filter((t) => t.trim() !== '').length);
  for (const [i, cue] of cues.entries()) expect(cue).toMatch(new RegExp(`^${i + 1}\\n\\d\\d:\\d\\d:\\d\\d,\\d{3} --> \\d\\d:\\d\\d:\\d\\d,\\d{3}\\n\\S.*$`));

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`browser test screenshot: ${SCREENSHOT}`);

  // Delete: gone from the list and from the database, ciphertext included.
  await savedRow.getByRole('button', { name: /^Delete/ }).click();
  await waitForStatus(page, /^Deleted from the server/, 30_000);
  await savedRow.waitFor({ state: 'detached' });
  expect(storedRows()).toEqual([]);
  expect(rawDatabaseBytes().includes(Buffer.from(envelope.ciphertext.slice(0, 64)))).toBe(false);

  expect(pageErrors).toEqual([]);
}, 240_000);

it('transcribes a picked file, streamed in real time, every sample of it', async () => {
  const { page, pageErrors } = await openPage();
  await page.locator('#file').setInputFiles(wavPath);
  await waitForStatus(page, /^Done: /, 60_000);
  const [, receivedS, finalsSent] = /^Done: ([\d.]+) s of audio, (\d+) final/.exec(await statusText(page)) ?? [];
  // Decoded to 16 kHz in the browser and sent whole: the server counted the file's length.
  expect(Math.abs(Number(receivedS) - speech.length / 16_000)).toBeLessThanOrEqual(0.1);
  expect(Number(finalsSent)).toBeGreaterThan(0);
  expect(await page.locator('#transcript li.final').count()).toBe(Number(finalsSent));
  expect(pageErrors).toEqual([]);
}, 120_000);

it('shows the demo-model notice while a demo model serves, and none with another model', async () => {
  const { page, pageErrors } = await openPage();
  const notice = page.locator('#demo-notice');
  await notice.waitFor({ state: 'visible', timeout: 30_000 });
  const text = await notice.innerText();
  expect(text).toContain('synthetic voices only');
  expect(text).toContain('npm run models -- pull NAME');
  await page.screenshot({ path: DEMO_SCREENSHOT });
  console.log(`demo notice screenshot: ${DEMO_SCREENSHOT}`);
  expect(pageErrors).toEqual([]);

  // The same network, copied to a folder of another name: served as a real model would be (not a shipped one).
  const realDir = path.join(root, 'real-model');
  mkdirSync(realDir);
  for (const file of ['model.onnx', 'tokens.txt']) copyFileSync(path.join(DEMO_MODEL_DIR, file), path.join(realDir, file));
  const real = await startTestServer({ dataDir: path.join(root, 'data-real'), model: realDir, lm: 'none', wordLm: 'none' });
  try {
    const models = (await (await fetch(`http://127.0.0.1:${real.port}/v1/models`)).json()) as { data: Array<{ id: string; demo: boolean }> };
    expect(models.data.map((m) => [m.id, m.demo])).toEqual([['real-model', false]]);
    const other = await openPage(`http://127.0.0.1:${real.port}/`);
    await other.page.waitForLoadState('networkidle');
    expect(await other.page.locator('#demo-notice').isVisible()).toBe(false);
    // That server has no diarization model: the page says so and does not offer speaker labels.
    expect(await other.page.locator('#diarize').isDisabled()).toBe(true);
    expect(await other.page.locator('#diarize-hint').isVisible()).toBe(true);
    expect(other.pageErrors).toEqual([]);
  } finally {
    await real.shutdown();
  }
}, 120_000);

interface UploadRun {
  /** what the page says it sends */
  uploadInfo: string;
  kbitPerS: number;
  heard: string;
  speakers: string[];
}

/**
 * Records the conversation in a fresh browser with `upload` chosen and speaker
 * labels on; counts the binary bytes the page sends. `withoutWebCodecs` removes
 * AudioEncoder and AudioData before the page's script runs, as in a browser
 * that has none. `screenshot` is taken once a partial, a final with a speaker
 * and a latency figure are all on screen, while the microphone still plays.
 */
async function recordConversation(upload: string, options: { withoutWebCodecs?: boolean; screenshot?: string } = {}): Promise<UploadRun> {
  const context = await launchBrowser(conversationWavPath, `profile-${upload}${options.withoutWebCodecs ? '-no-webcodecs' : ''}`);
  if (options.withoutWebCodecs) await context.addInitScript('delete window.AudioEncoder; delete window.AudioData;');
  const { page, pageErrors, consoleLines } = await openPage(`${origin}/`, context);
  let binaryBytes = 0;
  page.on('websocket', (ws) => ws.on('framesent', (frame) => (binaryBytes += typeof frame.payload === 'string' ? 0 : frame.payload.length)));
  await page.locator('#diarize').waitFor();
  // The server offers diarization: the page enables the checkbox once GET /v1/models said so.
  await page.waitForFunction(() => !(document.getElementById('diarize') as HTMLInputElement).disabled);
  expect(await page.locator('#diarize-hint').isVisible()).toBe(false);
  await page.locator('#diarize').check();
  await page.locator('summary', { hasText: 'Settings' }).click();
  await page.locator('#upload').selectOption(upload);
  await page.locator('#record').click();
  // The meter's highest reading while the microphone plays (kept in the page: the server's results may lag the audio).
  await page.evaluate(() => {
    const meter = document.getElementById('level') as HTMLMeterElement;
    const seen = window as unknown as { maxLevel: number };
    seen.maxLevel = 0;
    setInterval(() => (seen.maxLevel = Math.max(seen.maxLevel, meter.value)), 20);
  });
  if (options.screenshot) {
    // A function, not a string: the page's Content-Security-Policy forbids eval.
    const midRecording = () =>
      document.querySelector('#transcript li.partial') !== null &&
      document.querySelector('#transcript li.final[class*="speaker-"]') !== null &&
      document.getElementById('latency')!.textContent !== '';
    await page.waitForFunction(midRecording, undefined, { timeout: 60_000, polling: 50 }).catch(async (err: Error) => {
      throw new Error(`never a partial beside a final with a speaker and a latency: transcript ${JSON.stringify(await page.locator('#transcript').innerText())}, latency ${JSON.stringify(await page.locator('#latency').textContent())}, console ${JSON.stringify(consoleLines)} (${err.message.split('\n')[0]})`);
    });
    await page.screenshot({ path: options.screenshot, fullPage: true });
    console.log(`live page screenshot (mid-recording): ${options.screenshot}`);
  }
  // All three turns are final once the last one's final is in and the microphone is silent.
  const conversationMs = (conversation.length / 16_000) * 1000;
  await page.waitForTimeout(Math.max(0, conversationMs - 2000));
  await page
    .waitForFunction((turns) => document.querySelectorAll('#transcript li.final').length >= turns && document.querySelector('#transcript li.partial') === null, CONVERSATION.length, { timeout: 30_000 })
    .catch(() => {});
  const uploadInfo = (await page.locator('#upload-info').textContent()) ?? '';
  // Speech at espeak's level reads about -20 dBFS: two thirds of the meter's -60..0 dB scale.
  expect(await page.evaluate(() => (window as unknown as { maxLevel: number }).maxLevel)).toBeGreaterThan(0.4);
  await page.locator('#stop').click();
  // Generous: the finals of a backlog come first, and on a shared 2-core machine the server may run well behind real time.
  await waitForStatus(page, /^Done: /, 120_000);
  const [, receivedS] = /^Done: ([\d.]+) s of audio/.exec(await statusText(page)) ?? [];
  const texts = await page.locator('#transcript li.final .text').allTextContents();
  const speakers = await page.locator('#transcript li.final .speaker').allTextContents();
  expect(pageErrors).toEqual([]);
  await context.close();
  return { uploadInfo, kbitPerS: (binaryBytes * 8) / Number(receivedS) / 1000, heard: texts.join(' ').replace(/\s+/g, ' ').trim(), speakers };
}

/**
 * The conversation's WER, within a bound that says the finals are of this
 * speech (the female espeak variant is harder for the demo model than the
 * sentences of TEST_MODEL_WER: measured 22-31% over PCM and Opus), and every
 * final labelled with a speaker. Returns the WER, to compare encodings.
 */
const CONVERSATION_WER_BOUND = 0.4;

function checkRun(label: string, run: UploadRun): number {
  const said = CONVERSATION.map((turn) => turn.text).join(' ');
  const wer = wordErrorRate(said, run.heard).wer;
  console.log(`${label}: ${run.kbitPerS.toFixed(1)} kbit/s upstream ("${run.uploadInfo}"); speakers ${JSON.stringify(run.speakers)}; WER ${(wer * 100).toFixed(1)}%: ${JSON.stringify(run.heard)}`);
  expect(wer).toBeLessThan(CONVERSATION_WER_BOUND);
  expect(run.speakers.length).toBeGreaterThanOrEqual(CONVERSATION.length);
  for (const speaker of run.speakers) expect(speaker).not.toBe('');
  return wer;
}

it('uploads Opus from WebCodecs at a fifth of PCM or less, with finals, speakers and a live screenshot', async () => {
  const opus = await recordConversation('auto', { screenshot: LIVE_SCREENSHOT });
  expect(opus.uploadInfo).toMatch(/^Sending Opus \(WebCodecs\), \d+ kbit\/s$/);
  const opusWer = checkRun('Opus (WebCodecs)', opus);
  const pcm = await recordConversation('pcm');
  expect(pcm.uploadInfo).toMatch(/^Sending PCM, \d+ kbit\/s$/);
  const pcmWer = checkRun('PCM', pcm);
  // Opus costs the recogniser at most a few words of the 36.
  expect(opusWer).toBeLessThanOrEqual(pcmWer + 0.1);
  console.log(`upstream: Opus ${opus.kbitPerS.toFixed(1)} kbit/s, PCM ${pcm.kbitPerS.toFixed(1)} kbit/s (ratio ${(opus.kbitPerS / pcm.kbitPerS).toFixed(3)})`);
  expect(opus.kbitPerS).toBeLessThanOrEqual(pcm.kbitPerS / 5);
}, 480_000);

it('falls back to MediaRecorder WebM/Opus where WebCodecs is missing, and still transcribes', async () => {
  const fallback = await recordConversation('auto', { withoutWebCodecs: true });
  expect(fallback.uploadInfo).toMatch(/^Sending Opus \(MediaRecorder\), \d+ kbit\/s$/);
  checkRun('Opus (MediaRecorder, WebCodecs removed)', fallback);
  expect(fallback.kbitPerS).toBeLessThan(64);
}, 240_000);

it('the minimal browser example records through /client.js and shows finals', async () => {
  const context = await launchBrowser(wavPath, 'profile-example');
  const { page, pageErrors } = await openPage(`${origin}/examples/browser.html`, context);
  await page.getByRole('button', { name: 'Start' }).click();
  await page.locator('#status').filter({ hasText: /^Listening \(webcodecs\)/ }).waitFor();
  await page.locator('#finals li').first().waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('#status').filter({ hasText: /^Done: / }).waitFor({ timeout: 30_000 });
  const heard = (await page.locator('#finals li').allTextContents()).join(' ');
  const wer = wordErrorRate(SENTENCE, heard).wer;
  console.log(`${describeWer('example page', wer, TEST_MODEL_WER.sentence)}: ${JSON.stringify(heard)}`);
  expect(wer).toBeLessThan(TEST_MODEL_WER.sentence.bound);
  expect(pageErrors).toEqual([]);
}, 120_000);

it('says in words that the token is missing or wrong when a server with sign-in on refuses the session', async () => {
  const locked = await startTestServer({ dataDir: path.join(root, 'data-locked'), auth: 'on', tokenSecret: 'a-test-secret-of-at-least-32-characters!' });
  try {
    const { page, pageErrors } = await openPage(`http://127.0.0.1:${locked.port}/`);
    await page.locator('summary', { hasText: 'Settings' }).click();
    await page.locator('#token').fill('not-a-token');
    await page.locator('#record').click();
    // Browsers hide the upgrade's 401: at the first retry the page asks GET /v1/models with the token, and stops.
    await waitForStatus(page, /^Not allowed: the access token is missing, wrong or expired/, 10_000);
    expect(await page.locator('#record').isDisabled()).toBe(false);
    expect(pageErrors).toEqual([]);
  } finally {
    await locked.shutdown();
  }
}, 120_000);
