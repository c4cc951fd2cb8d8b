/**
 * Test kit: the soak driver. N real-time streams for M minutes against the
 * real server as a child process, on loopback. Each stream opens session
 * after session (three known sentences in real time, then `close`), so
 * sessions start and end all through the run. The server's RSS (from /proc)
 * and JS heap (from /metrics) are sampled every few seconds and logged as
 * they come.
 *
 * The run fails (`pass` false in the summary) when
 *  - memory grows: samples after the warm-up (the first WARMUP_SHARE of the
 *    run, at least WARMUP_MIN_S) are cut into quarters, and the median RSS of
 *    the last quarter may exceed that of the first by at most
 *    max(GROWTH_LIMIT_MIB, GROWTH_LIMIT_PCT % of it) — a leak grows steadily,
 *    the noise of garbage collection and allocator arenas does not;
 *  - or any session lost a final (one non-empty final per sentence, in
 *    order, and a matching `closed`), or sessions are left open at the end.
 *
 * The long run is the bench scenario (bench/soak.ts, `npm run bench -- soak`);
 * tests/server-soak.test.ts runs it in small.
 */
import { runPlan, SENTENCES, sessionProblems, speechPlan, VOICES, type SpeechPlan } from './speech-plan.js';
import { sharedPath } from './paths.js';
import { promValue, rssMiB, startServerProcess } from './server-process.js';

const GROWTH_LIMIT_MIB = 32;
const GROWTH_LIMIT_PCT = 10;
const WARMUP_SHARE = 0.2;
const WARMUP_MIN_S = 20;
/** Distinct session scripts, handed out round robin. */
const PLAN_COUNT = 6;

export interface SoakOptions {
  streams: number;
  minutes: number;
  sampleS: number;
  /** Passed to the server as --model when not empty. */
  model: string;
}

export interface MemorySample {
  t_s: number;
  rss_mib: number;
  heap_used_mib: number;
  live_sessions: number;
}

export interface SoakSummary {
  streams: number;
  minutes: number;
  sessions: number;
  sessions_failed: number;
  /** The first few problems of failed sessions. */
  problems: string[];
  live_sessions_after: number;
  rss_first_quarter_mib: number;
  rss_last_quarter_mib: number;
  rss_growth_mib: number;
  rss_growth_limit_mib: number;
  rss_peak_mib: number;
  memory_ok: boolean;
  pass: boolean;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function warmupS(durationS: number): number {
  return Math.max(WARMUP_MIN_S, durationS * WARMUP_SHARE);
}

/** First- and last-quarter median RSS of the samples after the warm-up, and whether growth stayed in bounds. */
function memoryVerdict(samples: MemorySample[], durationS: number): Pick<SoakSummary, 'rss_first_quarter_mib' | 'rss_last_quarter_mib' | 'rss_growth_mib' | 'rss_growth_limit_mib' | 'memory_ok'> {
  const steady = samples.filter((s) => s.t_s >= warmupS(durationS)).map((s) => s.rss_mib);
  const quarter = Math.max(1, Math.floor(steady.length / 4));
  const first = median(steady.slice(0, quarter));
  const last = median(steady.slice(-quarter));
  const limit = Math.max(GROWTH_LIMIT_MIB, (first * GROWTH_LIMIT_PCT) / 100);
  return {
    rss_first_quarter_mib: round1(first),
    rss_last_quarter_mib: round1(last),
    rss_growth_mib: round1(last - first),
    rss_growth_limit_mib: round1(limit),
    memory_ok: steady.length >= 4 && last - first <= limit,
  };
}

export async function runSoak(opts: SoakOptions, log: (line: string) => void = console.log): Promise<{ summary: SoakSummary; samples: MemorySample[] }> {
  const durationS = opts.minutes * 60;
  if (durationS < warmupS(durationS) + 8 * opts.sampleS) {
    throw new Error(`soak: ${durationS} s is too short to judge memory: it needs the ${warmupS(durationS)} s warm-up plus 8 samples (--sample-s ${opts.sampleS})`);
  }
  log('synthesising test speech ...');
  const plans: SpeechPlan[] = Array.from({ length: PLAN_COUNT }, (_, i) =>
    speechPlan([0, 1, 2].map((k) => SENTENCES[(i * 3 + k) % SENTENCES.length]), VOICES[i % VOICES.length]),
  );
  const planMs = Math.max(...plans.map((p) => p.audio.length / 16));
  const args = ['--vad-model', sharedPath('models/silero-vad-v5/silero_vad.onnx'), ...(opts.model ? ['--model', opts.model] : [])];
  const server = await startServerProcess(args);
  const base = `http://127.0.0.1:${server.port}`;
  const samples: MemorySample[] = [];
  let sessions = 0;
  const problems: string[] = [];
  let failed = 0;
  let nextPlan = 0;

  const t0 = performance.now();
  const sample = async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const s: MemorySample = {
      t_s: Math.round((performance.now() - t0) / 1000),
      rss_mib: round1(rssMiB(server.pid)),
      heap_used_mib: round1(promValue(metrics, 'lt_process_nodejs_heap_size_used_bytes') / 2 ** 20),
      live_sessions: promValue(metrics, 'lt_live_sessions'),
    };
    samples.push(s);
    log(`[${String(s.t_s).padStart(5)} s] rss ${s.rss_mib.toFixed(1).padStart(7)} MiB  heap ${s.heap_used_mib.toFixed(1).padStart(6)} MiB  live ${s.live_sessions}  sessions done ${sessions} (${failed} failed)`);
  };

  // Sessions keep starting until the deadline; the last ones run to their end.
  const stream = async (index: number) => {
    await new Promise((r) => setTimeout(r, (index * planMs) / opts.streams));
    while (performance.now() - t0 < durationS * 1000) {
      const plan = plans[nextPlan++ % plans.length];
      let found: string[];
      try {
        found = sessionProblems(plan, await runPlan(server.port, plan));
      } catch (err) {
        found = [String(err)];
      }
      sessions++;
      if (found.length > 0) {
        failed++;
        if (problems.length < 10) problems.push(`stream ${index}: ${found.join('; ')}`);
      }
    }
  };

  let summary: SoakSummary;
  try {
    await sample();
    const sampler = setInterval(() => void sample().catch((err) => log(`sample failed: ${err}`)), opts.sampleS * 1000);
    try {
      await Promise.all(Array.from({ length: opts.streams }, (_, i) => stream(i)));
    } finally {
      clearInterval(sampler);
    }
    await sample();
    const liveAfter = samples[samples.length - 1].live_sessions;
    const memory = memoryVerdict(samples, durationS);
    summary = {
      streams: opts.streams,
      minutes: opts.minutes,
      sessions,
      sessions_failed: failed,
      problems,
      live_sessions_after: liveAfter,
      ...memory,
      rss_peak_mib: Math.max(...samples.map((s) => s.rss_mib)),
      pass: memory.memory_ok && failed === 0 && sessions > 0 && liveAfter === 0,
    };
  } finally {
    await server.stop();
  }
  return { summary, samples };
}
