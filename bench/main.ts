/**
 * Benchmark entry point: `npm run bench -- <scenario> [--option value ...]`.
 * Owns the scenario list, option parsing (every option has a default, unknown
 * ones are refused) and saving each run's results (lib/report.ts).
 * `fbank`, `diarization`, `heldout` and `keyterms` are standalone scripts that print only.
 */
import { DEFAULT_SESSION_CONFIG, configValueProblem } from '../protocol/session-config.js';
import { benchCapacity } from './capacity.js';
import { benchContinuous } from './continuous.js';
import { benchDecode } from './decode.js';
import { benchHttp } from './http.js';
import { benchOffline } from './offline.js';
import { benchPeer } from './peer.js';
import { benchSoak } from './soak.js';
import { SERVER_KINDS, type ServerKind } from './lib/live-clients.js';
import { machineInfo, saveResults, type ScenarioResult } from './lib/report.js';
import { benchStreams } from './streams.js';
import { benchTransport } from './transport.js';

type Options = Record<string, string>;

interface Scenario {
  about: string;
  defaults: Options;
  run(o: Options): Promise<ScenarioResult>;
}

function num(o: Options, name: string): number {
  const n = Number(o[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: "${o[name]}" is not a non-negative number`);
  return n;
}

function int(o: Options, name: string): number {
  const n = Number(o[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: "${o[name]}" is not a positive integer`);
  return n;
}

function nums(o: Options, name: string): number[] {
  const list = o[name].split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name}: "${o[name]}" is not a comma-separated list of positive integers`);
  return list;
}

/** `--endpointing-ms`, checked by the protocol's own rule. */
function endpointingMs(o: Options): number {
  const ms = Number(o['endpointing-ms']);
  const problem = configValueProblem('endpointing_ms', ms);
  if (problem) throw new Error(`--endpointing-ms: ${problem}`);
  return ms;
}
const ENDPOINTING_DEFAULT = String(DEFAULT_SESSION_CONFIG.endpointing_ms);

/** `--server`: ours, the sherpa-onnx-node peer (lib/sherpa-server.ts), or two of ours behind HAProxy (deploy/haproxy.cfg). */
function serverKind(o: Options): ServerKind {
  const kind = o.server as ServerKind;
  if (!SERVER_KINDS.includes(kind)) throw new Error(`--server: "${o.server}" is not one of ${SERVER_KINDS.join(', ')}`);
  return kind;
}

const SCENARIOS: Record<string, Scenario> = {
  streams: {
    about: 'N concurrent real-time WebSocket clients against the server process: latency, stability, WER, CPU, batching',
    defaults: { n: '1,8,32', seconds: '30', 'endpointing-ms': ENDPOINTING_DEFAULT, model: '', server: 'ours' },
    run: (o) => benchStreams({ clients: nums(o, 'n'), seconds: num(o, 'seconds'), endpointingMs: endpointingMs(o), model: o.model, server: serverKind(o) }),
  },
  capacity: {
    about: 'searches the largest N of streams clients within the SLO (final p95 <= endpointing + 350 ms, no missing finals): doubling from --start, then bisection; each probe a streams run',
    defaults: { start: '4', 'max-n': '128', probes: '8', 'max-minutes': '7', seconds: '30', 'endpointing-ms': ENDPOINTING_DEFAULT, model: '', server: 'ours' },
    run: (o) =>
      benchCapacity({ start: int(o, 'start'), maxN: int(o, 'max-n'), probes: int(o, 'probes'), maxMinutes: num(o, 'max-minutes'), seconds: num(o, 'seconds'), endpointingMs: endpointingMs(o), model: o.model, server: serverKind(o) }),
  },
  continuous: {
    about: 'N real-time clients talking without pauses long enough to end a segment: how far behind the audio partials and finals arrive, missing finals, WER, CPU',
    defaults: { n: '8,16', seconds: '60', 'endpointing-ms': ENDPOINTING_DEFAULT, model: '', server: 'ours' },
    run: (o) => benchContinuous({ clients: nums(o, 'n'), seconds: num(o, 'seconds'), endpointingMs: endpointingMs(o), model: o.model, server: serverKind(o) }),
  },
  offline: {
    about: 'recognizer throughput by batch size (a streaming model: chunked windows per call, e.g. --batches 1,8,32,128)',
    defaults: { batches: '1,4,16,64', threads: '0', model: '' },
    run: (o) => benchOffline({ batchSizes: nums(o, 'batches'), threads: num(o, 'threads'), model: o.model }),
  },
  peer: {
    about: 'our recognizer vs sherpa-onnx-node on the same model file: throughput and transcript agreement',
    defaults: { synthetic: '16', real: '16', batch: '16', threads: '1', runs: '5', model: '' },
    run: (o) => benchPeer({ synthetic: num(o, 'synthetic'), real: num(o, 'real'), batch: num(o, 'batch'), threads: num(o, 'threads'), runs: num(o, 'runs'), model: o.model }),
  },
  ws: {
    about: 'uWebSockets.js vs ws echo servers: frames/s and round trip',
    defaults: { connections: '1,32', window: '4', seconds: '5' },
    run: (o) => benchTransport({ connections: nums(o, 'connections'), window: num(o, 'window'), seconds: num(o, 'seconds') }),
  },
  http: {
    about: 'autocannon against /healthz, /metrics, /v1/transcripts of the server process',
    defaults: { connections: '10', seconds: '5', seed: '50', token: '' },
    run: (o) => benchHttp({ connections: num(o, 'connections'), seconds: num(o, 'seconds'), seed: num(o, 'seed'), token: o.token }),
  },
  decode: {
    about: 'audio decoder CPU cost per encoding',
    defaults: {},
    run: async () => ({ rows: await benchDecode() }),
  },
  soak: {
    about: 'S real-time streams for M minutes, sessions opened and closed throughout: RSS curve, fails (exit 1) on memory growth or lost finals',
    defaults: { streams: '16', minutes: '10', 'sample-s': '5', model: '' },
    run: (o) => benchSoak({ streams: num(o, 'streams'), minutes: num(o, 'minutes'), sampleS: num(o, 'sample-s'), model: o.model }),
  },
};
const SCRIPTS: Record<string, { about: string; load: () => Promise<unknown> }> = {
  fbank: { about: 'filterbank and FFT speed (prints only)', load: () => import('./fbank.js') },
  diarization: { about: 'diarization DER and cost (prints only; options --step-ms=, --latency-ms=, --no-cost)', load: () => import('./diarization.js') },
  heldout: { about: "the demo model's held-out WER by decoding (prints only; options --dir=, --model=, --lms=; needs synth.py heldout 300 first)", load: () => import('./heldout.js') },
  keyterms: { about: 'keyterm recall, WER and distractor insertions without and with biasing, and held-out WER with unrelated keyterms (prints only; options --dir=, --heldout-dir=, --boosts=, --no-heldout, --misses; needs keyterms_set.py speak and synth.py heldout 300 first)', load: () => import('./keyterms.js') },
};

function usage(): string {
  const lines = ['usage: npm run bench -- <streams|capacity|continuous|offline|peer|ws|http|decode|soak|fbank|diarization|heldout|keyterms> [--option value ...]', ''];
  for (const [name, s] of Object.entries(SCENARIOS)) {
    const opts = Object.entries(s.defaults).map(([k, v]) => `--${k} ${v === '' ? '""' : v}`).join(' ');
    lines.push(`  ${name.padEnd(12)} ${s.about}${opts ? `\n  ${''.padEnd(12)} ${opts}` : ''}`);
  }
  for (const [name, s] of Object.entries(SCRIPTS)) lines.push(`  ${name.padEnd(12)} ${s.about}`);
  lines.push('', 'Results: bench/results/<scenario>-<timestamp>.json (+ .svg chart where there is one).');
  return lines.join('\n');
}

function parseOptions(args: string[], defaults: Options): Options {
  const o = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown argument "${args[i]}" (options: ${Object.keys(defaults).map((k) => `--${k}`).join(' ') || 'none'})`);
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value`);
    o[m[1]] = value;
  }
  return o;
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const script = SCRIPTS[name];
  if (script) {
    await script.load();
    return;
  }
  const scenario = SCENARIOS[name];
  if (!scenario) {
    console.error(usage());
    process.exit(2);
  }
  const options = parseOptions(args, scenario.defaults);
  const run = { scenario: name, options, startedAt: new Date(), machine: machineInfo() };
  console.log(`${name}: ${JSON.stringify(options)} on ${run.machine.cpu_model} x${run.machine.cores}, load ${run.machine.load_avg_1m}`);
  saveResults(run, await scenario.run(options));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
