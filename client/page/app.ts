/**
 * The live page (index.html, served at `/` by server/static.ts): record from
 * the microphone or play a file into `/v1/listen`, show partials and finals
 * as they come, and keep transcripts on the server encrypted with a password
 * that never leaves the page: save, list, open (decrypt here), export, delete.
 *
 * While live it shows what a person checks while talking to a machine: an
 * input level meter (the microphone works before any word appears), the
 * partial line, finals with times and a colour per speaker (relabelled in
 * place on `speaker_update`), what is uploaded and at what rate, the latency
 * of each final (from the end of its speech, by the page's clock, to its
 * arrival), reconnection as a status, and a plain message per error code.
 * Speaker labels can be asked for only when `GET /v1/models` says the server
 * has a diarization model.
 *
 * A saved transcript is the export JSON (client/export.ts) encrypted into an
 * envelope (client/crypto.ts). New envelopes use a per-browser salt kept in
 * localStorage; an envelope's own salt and rounds are used to open it, so a
 * transcript saved in another browser opens here with the same password.
 */
import { base64ToBytes, bytesToBase64, parseEnvelope } from '../../protocol/envelope.js';
import { CAPTURE_RATE_HZ, DEFAULT_FRAME_MS as DEFAULT_LEVEL_BLOCK_MS, captureMicrophone, decodeAudioFile, streamPaced, type UploadConfig, type UploadMethod } from '../capture.js';
import { decryptTranscript, DEFAULT_ITERATIONS, deriveKey, encryptTranscript, newSalt, TranscriptCryptoError, type TranscriptKey } from '../crypto.js';
import { clock, EXPORT_FORMATS, exportTranscript, parseTranscriptJson, toJson, type ExportFormat, type TranscriptFile } from '../export.js';
import { ListenClient, ListenClientError, type ListenError } from '../listen-client.js';
import type { ErrorCode } from '../../protocol/messages.js';
import { TranscriptDocument } from '../transcript-document.js';

const SALT_STORAGE_KEY = 'live-transcribe.salt';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const ui = {
  record: element<HTMLButtonElement>('record'),
  stop: element<HTMLButtonElement>('stop'),
  file: element<HTMLInputElement>('file'),
  diarize: element<HTMLInputElement>('diarize'),
  diarizeHint: element<HTMLParagraphElement>('diarize-hint'),
  token: element<HTMLInputElement>('token'),
  upload: element<HTMLSelectElement>('upload'),
  level: element<HTMLMeterElement>('level'),
  uploadInfo: element<HTMLSpanElement>('upload-info'),
  latency: element<HTMLSpanElement>('latency'),
  status: element<HTMLParagraphElement>('status'),
  demoNotice: element<HTMLParagraphElement>('demo-notice'),
  demoModelName: element<HTMLSpanElement>('demo-model-name'),
  announce: element<HTMLDivElement>('announce'),
  transcriptTitle: element<HTMLHeadingElement>('transcript-title'),
  transcript: element<HTMLOListElement>('transcript'),
  empty: element<HTMLParagraphElement>('empty'),
  saveForm: element<HTMLFormElement>('save-form'),
  password: element<HTMLInputElement>('password'),
  title: element<HTMLInputElement>('title'),
  save: element<HTMLButtonElement>('save'),
  refresh: element<HTMLButtonElement>('refresh'),
  saved: element<HTMLUListElement>('saved'),
  savedEmpty: element<HTMLParagraphElement>('saved-empty'),
};

/** The transcript on screen: a live one, or one opened from the server. */
interface Shown {
  id: string;
  /** the version last saved, 0 before the first save */
  version: number;
  doc: TranscriptDocument;
}

/** A running transcription, from the first audio until the server's `closed`. */
interface Live {
  client: ListenClient;
  /** stops the audio source; frames already captured are sent first */
  stopAudio: () => Promise<void>;
  finishing: boolean;
  /** audio bytes handed to the client so far, for the upload rate */
  sentBytes: number;
  /** performance.now() at stream time 0 (live audio only): where the latency readout measures from */
  streamStartMs: number | null;
  /** end of speech to final arrival, ms, per final */
  latenciesMs: number[];
}

let shown: Shown = { id: newTranscriptId(), version: 0, doc: new TranscriptDocument() };
let live: Live | null = null;
/** Titles are inside the ciphertext: remembered here once a transcript has been opened or saved. */
const knownTitles = new Map<string, string>();
/** From GET /v1/models: whether speaker labels can be asked for (false until known: the server refuses them without a model). */
let diarizationAvailable = false;
/** Keys derived from the password as typed now, by salt and rounds (derivation is slow on purpose). */
const keys = new Map<string, Promise<TranscriptKey>>();

function setStatus(text: string, isError = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

/**
 * The notice that a shipped demo model serves (synthetic voices only): shown
 * from GET /v1/models when the page loads, and from each session's `ready`.
 */
function showDemoNotice(model: string | null): void {
  ui.demoNotice.hidden = model === null;
  if (model !== null) ui.demoModelName.textContent = `This server runs ${model}, a small demo model`;
}

/**
 * What the server's default model offers: whether it is a demo model, and
 * whether speaker labels are possible. Says nothing when it cannot be asked
 * (sign-in on, no token yet): a session's ready shows the demo notice again.
 */
async function checkServerOffer(): Promise<void> {
  try {
    const list = (await (await api('GET', '/v1/models')).json()) as { data: Array<{ id: string; default: boolean; demo?: boolean; diarization?: boolean }> };
    const model = list.data.find((m) => m.default);
    if (!model) return;
    showDemoNotice(model.demo ? model.id : null);
    diarizationAvailable = model.diarization === true;
    ui.diarizeHint.hidden = diarizationAvailable;
    if (!diarizationAvailable) ui.diarize.checked = false;
    ui.diarize.disabled = live !== null || !diarizationAvailable;
  } catch {
    // Asked again when a token is typed.
  }
}

/** What to tell a person for each way a session can fail: what happened, and what to do. */
const ERROR_ADVICE: Record<ErrorCode | ListenError['code'], string> = {
  unauthorized: 'Not allowed: the access token is missing, wrong or expired. Paste a fresh one under Settings and try again.',
  overloaded: 'The server is busy (at its session limit, or restarting). Try again in a minute.',
  rate_limited: 'Audio arrived faster than the server allows for this account. Try again; if it keeps happening, ask the operator about the rate limit.',
  bad_config: 'The server refused a setting',
  bad_message: 'The server could not read a message from this page (a bug worth reporting)',
  unsupported_encoding: 'The server cannot decode the audio this browser sends. Choose “Uncompressed PCM” under Settings and try again.',
  bad_audio: 'The server could not decode the audio',
  message_too_large: 'An audio frame was too large for the server',
  idle_timeout: 'The session ended: no audio reached the server for too long.',
  session_too_long: 'The session reached the server’s time limit. Start a new recording to go on.',
  internal: 'The server failed (its log says why). Try again.',
  connection_lost: 'The connection to the server was lost',
  audio_dropped: 'Disconnected for too long: some audio was not sent',
  aborted: 'Stopped.',
};

/** The advice for `code`: one ending in a full stop stands alone, the others are followed by the server's own words. */
function errorAdvice(code: ErrorCode | ListenError['code'], detail: string): string {
  const advice = ERROR_ADVICE[code] ?? `Error (${code})`;
  return advice.endsWith('.') ? advice : `${advice}: ${detail}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function newTranscriptId(): string {
  return crypto.randomUUID();
}

// ---------------------------------------------------------------- transcript view

const rows = new Map<string, HTMLLIElement>();
let renderQueued = false;

function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

/** Brings the list in line with the document, touching only the rows that changed. */
function render(): void {
  const segments = shown.doc.segments();
  const keep = new Set<string>();
  segments.forEach((segment, index) => {
    const key = `${segment.channel}:${segment.segment_id}`;
    keep.add(key);
    let row = rows.get(key);
    if (!row) {
      row = document.createElement('li');
      for (const part of ['time', 'speaker', 'text']) {
        const span = document.createElement('span');
        span.className = part;
        row.append(span);
      }
      rows.set(key, row);
    }
    row.className = segment.final ? 'final' : 'partial';
    if (segment.speaker !== '') row.classList.add(`speaker-${speakerColour(segment.speaker)}`);
    const [time, speaker, text] = row.children as unknown as HTMLSpanElement[];
    time.textContent = clock(segment.start_ms, '.').slice(0, 8);
    speaker.textContent = segment.speaker;
    text.textContent = segment.text;
    if (ui.transcript.children[index] !== row) ui.transcript.insertBefore(row, ui.transcript.children[index] ?? null);
  });
  for (const [key, row] of rows) {
    if (!keep.has(key)) {
      row.remove();
      rows.delete(key);
    }
  }
  ui.empty.hidden = segments.length > 0;
}

/** Speakers in order of first appearance: each keeps its colour (one of SPEAKER_COLOURS, style.css) for the page's life. */
const speakerColours = new Map<string, number>();
const SPEAKER_COLOURS = 6;

function speakerColour(label: string): number {
  let colour = speakerColours.get(label);
  if (colour === undefined) speakerColours.set(label, (colour = speakerColours.size % SPEAKER_COLOURS));
  return colour;
}

function show(next: Shown, title: string): void {
  shown = next;
  rows.clear();
  ui.transcript.replaceChildren();
  ui.title.value = title;
  ui.transcriptTitle.textContent = title;
  ui.transcriptTitle.hidden = title === '';
  render();
}

function currentFile(): TranscriptFile {
  return { title: ui.title.value.trim(), segments: shown.doc.segments() };
}

// ---------------------------------------------------------------- live transcription

function setLive(next: Live | null): void {
  live = next;
  const busy = next !== null;
  ui.record.disabled = busy;
  ui.file.disabled = busy;
  ui.diarize.disabled = busy || !diarizationAvailable;
  ui.upload.disabled = busy;
  ui.stop.disabled = !busy;
  ui.saved.querySelectorAll<HTMLButtonElement>('button[data-action="open"]').forEach((button) => (button.disabled = busy));
}

const UPLOAD_LABELS: Record<UploadMethod, string> = { webcodecs: 'Opus (WebCodecs)', mediarecorder: 'Opus (MediaRecorder)', pcm: 'PCM' };

/** A session for frames described by `upload` (the capture's: the server resamples whatever rate it is). */
function startSession(upload: UploadConfig, uploadLabel: string): Live {
  show({ id: newTranscriptId(), version: 0, doc: new TranscriptDocument() }, '');
  const token = ui.token.value.trim();
  const client = new ListenClient({
    url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/v1/listen`,
    config: { ...upload, interim_results: true, diarize: ui.diarize.checked && diarizationAvailable },
    ...(token ? { token } : {}),
  });
  const session: Live = { client, stopAudio: async () => {}, finishing: false, sentBytes: 0, streamStartMs: null, latenciesMs: [] };
  ui.latency.textContent = '';
  ui.uploadInfo.textContent = `Sending ${uploadLabel}`;
  const startedAt = performance.now();
  const rateTimer = setInterval(() => {
    const seconds = (performance.now() - startedAt) / 1000;
    if (seconds >= 1) ui.uploadInfo.textContent = `Sending ${uploadLabel}, ${Math.round((session.sentBytes * 8) / seconds / 1000)} kbit/s`;
  }, 1000);
  client.on('ready', (ready) => showDemoNotice(ready.demo ? ready.model : null));
  const doc = shown.doc;
  const update = (msg: Parameters<TranscriptDocument['apply']>[0]) => {
    if (doc.apply(msg)) scheduleRender();
  };
  client.on('partial', update);
  client.on('final', (msg) => {
    update(msg);
    if (msg.text !== '') ui.announce.textContent = msg.text;
    if (session.streamStartMs !== null && msg.text !== '') showLatency(session, performance.now() - (session.streamStartMs + msg.end_ms));
  });
  client.on('speaker_update', update);
  client.on('error', (err) => {
    if (!err.fatal) setStatus(`Warning: ${errorAdvice(err.code, err.message)}`, true);
  });
  client.on('reconnecting', (r) => {
    if (client.sessionId !== '') {
      setStatus(`Connection lost; reconnecting (attempt ${r.attempt})…`, true);
      return;
    }
    setStatus(`Cannot connect yet; trying again (attempt ${r.attempt})…`, true);
    // A refused token will not get better by retrying: say so at once instead of after every attempt.
    if (r.attempt === 1) {
      void whyNoSession().then((why) => {
        if (why.code !== 'unauthorized' || client.state === 'ended') return;
        setStatus(why.text, true);
        client.abort();
      });
    }
  });
  client.on('resumed', () => setStatus('Reconnected: the session was resumed, nothing was lost. Listening…'));
  client.done
    .then(
      (closed) => {
        const seconds = (closed.audio_ms_received / 1000).toFixed(1);
        if (closed.reason === 'client_close') setStatus(`Done: ${seconds} s of audio, ${closed.finals_sent} final segment(s).`);
        else if (closed.reason === 'server_shutdown') setStatus(`The server shut down after ${seconds} s of audio; the finals for it are shown.`, true);
        else setStatus(`${errorAdvice(closed.reason as ErrorCode, closed.reason)} (after ${seconds} s of audio)`, true);
      },
      async (err: unknown) => {
        // An abort is this page's own doing, and it has said why already.
        if (err instanceof ListenClientError && err.code === 'aborted') return;
        if (err instanceof ListenClientError && err.code === 'connection_lost' && session.client.sessionId === '') setStatus((await whyNoSession()).text, true);
        else if (err instanceof ListenClientError) setStatus(errorAdvice(err.code, err.message), true);
        else setStatus(`The session ended: ${errorText(err)}`, true);
      },
    )
    .finally(() => {
      clearInterval(rateTimer);
      ui.level.value = 0;
      void session.stopAudio();
      if (live === session) setLive(null);
    });
  setLive(session);
  return session;
}

/** Sends one frame of the session's audio, counting it for the upload readout. */
function sendFrame(session: Live, frame: Uint8Array): void {
  session.sentBytes += frame.byteLength;
  session.client.sendAudio(frame);
}

function showLatency(session: Live, latencyMs: number): void {
  session.latenciesMs.push(latencyMs);
  const sorted = [...session.latenciesMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  ui.latency.textContent = `Latency: ${Math.round(latencyMs)} ms from end of speech to final (median ${Math.round(median)} ms)`;
}

/**
 * A socket that never opened: browsers hide the upgrade's answer, so ask the
 * server over HTTP with the same token whether it is the token (401) or the
 * server itself (unreachable; else a full server's 503 at the upgrade).
 */
async function whyNoSession(): Promise<{ code: 'unauthorized' | 'unreachable' | 'overloaded'; text: string }> {
  try {
    await api('GET', '/v1/models');
  } catch (err) {
    if (/answered 401/.test(errorText(err))) return { code: 'unauthorized', text: errorAdvice('unauthorized', '') };
    return { code: 'unreachable', text: `Cannot reach the server (${errorText(err)}). Check that it is running and try again.` };
  }
  return { code: 'overloaded', text: `The server refused the session. ${errorAdvice('overloaded', '')}` };
}

/** Stops the audio, then asks the server for the last finals; `done` reports the end. */
async function finish(session: Live): Promise<void> {
  // A session that already ended keeps the status that says how.
  if (session.finishing || live !== session) return;
  session.finishing = true;
  setStatus('Finishing: waiting for the last words…');
  await session.stopAudio();
  void session.client.close();
}

async function recordMicrophone(): Promise<void> {
  // The microphone opens first: its rate is the session's, and no session idles while the browser asks for permission.
  ui.record.disabled = true;
  ui.file.disabled = true;
  setStatus('Asking for the microphone…');
  const early: Uint8Array[] = [];
  let session: Live | null = null;
  let firstBlockAt: number | null = null;
  let mic: Awaited<ReturnType<typeof captureMicrophone>>;
  try {
    mic = await captureMicrophone({
      onFrame: (frame) => (session ? sendFrame(session, frame) : early.push(frame)),
      onEnded: () => session && void finish(session),
      upload: ui.upload.value as UploadMethod | 'auto',
      onLevel: (rms) => {
        // A block is reported when it is full: stream time 0 was one block earlier.
        firstBlockAt ??= performance.now() - DEFAULT_LEVEL_BLOCK_MS;
        if (session) session.streamStartMs ??= firstBlockAt;
        // Shown on a decibel scale: -60 dBFS (a quiet room) to 0.
        ui.level.value = Math.max(0, Math.min(1, 1 + (20 * Math.log10(rms + 1e-9)) / 60));
      },
    });
  } catch (err) {
    setLive(null);
    setStatus(`Cannot use the microphone: ${errorText(err)}`, true);
    return;
  }
  const started = startSession(mic.config, UPLOAD_LABELS[mic.method]);
  started.stopAudio = () => mic.stop();
  started.streamStartMs = firstBlockAt;
  for (const frame of early) sendFrame(started, frame);
  session = started;
  setStatus('Listening… speak now.');
}

async function transcribeFile(file: File): Promise<void> {
  setStatus(`Decoding ${file.name}…`);
  let samples: Float32Array;
  try {
    samples = await decodeAudioFile(file);
  } catch (err) {
    setStatus(`Cannot decode ${file.name}: ${errorText(err)}`, true);
    return;
  }
  const session = startSession({ encoding: 'pcm_s16le', sample_rate: CAPTURE_RATE_HZ, channels: 1 }, 'PCM');
  const stopping = new AbortController();
  session.stopAudio = async () => stopping.abort();
  setStatus(`Transcribing ${file.name} (${(samples.length / CAPTURE_RATE_HZ).toFixed(1)} s), played in real time…`);
  session.streamStartMs = performance.now();
  await streamPaced(samples, { onFrame: (frame) => sendFrame(session, frame), signal: stopping.signal });
  await finish(session);
}

// ---------------------------------------------------------------- server API

async function api(method: string, path: string, body?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = ui.token.value.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body, cache: 'no-store' });
  if (!res.ok) {
    const detail = await res
      .json()
      .then((j: { message?: string }) => j.message ?? '')
      .catch(() => '');
    throw new Error(`the server answered ${res.status}${detail ? `: ${detail}` : ''}`);
  }
  return res;
}

/** The key for `salt` and `iterations` from the password typed now. */
function keyFor(salt: Uint8Array, iterations: number): Promise<TranscriptKey> {
  const password = ui.password.value;
  if (password === '') throw new Error('type the password first');
  const cacheKey = `${iterations}:${bytesToBase64(salt)}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = deriveKey(password, salt, iterations);
    key.catch(() => keys.delete(cacheKey));
    keys.set(cacheKey, key);
  }
  return key;
}

/** This browser's salt for new envelopes, made on first use. It is not secret. */
function browserSalt(): Uint8Array {
  let salt = localStorage.getItem(SALT_STORAGE_KEY);
  if (salt === null) {
    salt = bytesToBase64(newSalt());
    localStorage.setItem(SALT_STORAGE_KEY, salt);
  }
  return base64ToBytes(salt);
}

async function saveShown(): Promise<void> {
  const file = currentFile();
  if (file.segments.length === 0) {
    setStatus('Nothing to save yet: record something first.', true);
    return;
  }
  const target = shown;
  ui.save.disabled = true;
  try {
    setStatus('Encrypting…');
    const key = await keyFor(browserSalt(), DEFAULT_ITERATIONS);
    const version = target.version + 1;
    const envelope = await encryptTranscript(key, target.id, version, toJson(file));
    await api('PUT', `/v1/transcripts/${target.id}`, JSON.stringify(envelope));
    target.version = version;
    knownTitles.set(target.id, file.title);
    setStatus('Saved, encrypted. The server holds only ciphertext.');
    await refreshList();
  } catch (err) {
    setStatus(`Not saved: ${errorText(err)}`, true);
  } finally {
    ui.save.disabled = false;
  }
}

async function openSaved(id: string): Promise<void> {
  try {
    setStatus('Fetching and decrypting…');
    const envelope = parseEnvelope(await (await api('GET', `/v1/transcripts/${id}`)).json());
    const key = await keyFor(base64ToBytes(envelope.kdf.salt), envelope.kdf.iterations);
    const plain = await decryptTranscript(key, envelope, id);
    const file = parseTranscriptJson(plain.text);
    const doc = new TranscriptDocument();
    // Read back as finals, so an opened transcript shows and exports exactly like a live one.
    file.segments.forEach((s, i) => doc.apply({ type: 'final', segment_id: i, channel: s.channel ?? 0, start_ms: s.start_ms, end_ms: s.end_ms, text: s.text, words: [...(s.words ?? [])], speaker: s.speaker }));
    knownTitles.set(id, file.title);
    show({ id, version: plain.version, doc }, file.title);
    setStatus(`Opened and decrypted${file.title ? ` “${file.title}”` : ''}.`);
    renderList(lastList);
  } catch (err) {
    if (err instanceof TranscriptCryptoError && err.code === 'decrypt_failed') setStatus('Cannot decrypt: wrong password (or the stored data was altered).', true);
    else setStatus(`Cannot open it: ${errorText(err)}`, true);
  }
}

async function deleteSaved(id: string): Promise<void> {
  if (!confirm('Delete this transcript from the server, permanently?')) return;
  try {
    await api('DELETE', `/v1/transcripts/${id}`);
    knownTitles.delete(id);
    // What is on screen stays; saving it again stores it afresh.
    if (shown.id === id) shown.version = 0;
    setStatus('Deleted from the server.');
    await refreshList();
  } catch (err) {
    setStatus(`Not deleted: ${errorText(err)}`, true);
  }
}

interface ListedTranscript {
  id: string;
  size_bytes: number;
  created_at: string;
  updated_at: string;
}

let lastList: ListedTranscript[] = [];

async function refreshList(): Promise<void> {
  try {
    const { transcripts } = (await (await api('GET', '/v1/transcripts')).json()) as { transcripts: ListedTranscript[] };
    lastList = transcripts.sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    renderList(lastList);
  } catch (err) {
    setStatus(`Cannot list saved transcripts: ${errorText(err)}`, true);
  }
}

function renderList(transcripts: ListedTranscript[]): void {
  ui.saved.replaceChildren(
    ...transcripts.map((t) => {
      const row = document.createElement('li');
      row.dataset.id = t.id;
      if (t.id === shown.id) row.setAttribute('aria-current', 'true');
      const meta = document.createElement('span');
      meta.className = 'meta';
      const title = knownTitles.get(t.id);
      const when = new Date(t.updated_at).toLocaleString();
      meta.textContent = `${title ? `${title} · ` : ''}saved ${when} · ${(t.size_bytes / 1024).toFixed(1)} kB encrypted`;
      const open = document.createElement('button');
      open.type = 'button';
      open.dataset.action = 'open';
      open.textContent = 'Open';
      open.disabled = live !== null;
      open.setAttribute('aria-label', `Open the transcript saved ${when}`);
      open.addEventListener('click', () => void openSaved(t.id));
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.dataset.action = 'delete';
      remove.textContent = 'Delete';
      remove.setAttribute('aria-label', `Delete the transcript saved ${when}`);
      remove.addEventListener('click', () => void deleteSaved(t.id));
      row.append(meta, open, remove);
      return row;
    }),
  );
  ui.savedEmpty.hidden = transcripts.length > 0;
}

// ---------------------------------------------------------------- export

function download(format: ExportFormat): void {
  const file = currentFile();
  if (file.segments.length === 0) {
    setStatus('Nothing to export yet.', true);
    return;
  }
  const { extension, mimeType } = EXPORT_FORMATS[format];
  const base = file.title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || `transcript-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}`;
  const url = URL.createObjectURL(new Blob([exportTranscript(format, file)], { type: mimeType }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${base}.${extension}`;
  link.click();
  // Late enough that the download has surely started reading it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---------------------------------------------------------------- wiring

ui.record.addEventListener('click', () => void recordMicrophone());
ui.stop.addEventListener('click', () => {
  if (live) void finish(live);
});
ui.file.addEventListener('change', () => {
  const picked = ui.file.files?.[0];
  // Cleared so picking the same file again fires `change` again.
  ui.file.value = '';
  if (picked) void transcribeFile(picked);
});
ui.saveForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void saveShown();
});
ui.password.addEventListener('input', () => keys.clear());
ui.title.addEventListener('input', () => {
  ui.transcriptTitle.textContent = ui.title.value;
  ui.transcriptTitle.hidden = ui.title.value === '';
});
ui.refresh.addEventListener('click', () => void refreshList());
document.querySelectorAll<HTMLButtonElement>('button[data-export]').forEach((button) => {
  button.addEventListener('click', () => download(button.dataset.export as ExportFormat));
});

ui.token.addEventListener('change', () => void checkServerOffer());

setLive(null);
void checkServerOffer();
if (window.isSecureContext) {
  void refreshList();
} else {
  setStatus('Open this page over HTTPS (or on localhost): browsers allow the microphone and encryption only there.', true);
  ui.record.disabled = true;
  ui.save.disabled = true;
}
