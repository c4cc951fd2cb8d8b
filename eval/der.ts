/**
 * Diarization error rate and the RTTM reader used to score against references.
 *
 * DER = (missed speech + false alarm + speaker confusion) / total reference
 * speech, the NIST md-eval definition:
 * - Overlap is scored, not skipped: in every stretch of time each active
 *   reference speaker counts once, so total reference speech is the sum over
 *   speakers. With N_ref reference and N_hyp hypothesis speakers active and
 *   N_correct reference speakers whose mapped hypothesis speaker is active,
 *   missed += max(0, N_ref - N_hyp), false alarm += max(0, N_hyp - N_ref),
 *   confusion += min(N_ref, N_hyp) - N_correct (all times duration).
 * - Collar (default 250 ms): time within ±collar of every reference turn start
 *   and end is not scored at all (neither numerator nor denominator).
 * - Speaker mapping: one-to-one, chosen by the Hungarian algorithm to maximise
 *   the scored time where a reference speaker and its hypothesis speaker are
 *   both active.
 * - A speaker's own overlapping turns merge (a set of speakers per instant).
 * Times are milliseconds throughout, as in the engine.
 */
import { maxScoreAssignment } from '../engine/diarization/hungarian.js';
import type { SpeakerTurn } from '../engine/diarization/index.js';

export type { SpeakerTurn };

export interface DerResult {
  /** (missed + falseAlarm + confusion) / referenceSpeech; 0 when there is no reference speech and no error. */
  der: number;
  missedMs: number;
  falseAlarmMs: number;
  confusionMs: number;
  referenceSpeechMs: number;
  /** reference speaker → hypothesis speaker chosen for scoring */
  mapping: Map<string, string>;
}

export const DEFAULT_COLLAR_MS = 250;

interface ScoredStretch {
  durationMs: number;
  reference: Set<string>;
  hypothesis: Set<string>;
}

export function diarizationErrorRate(
  reference: readonly SpeakerTurn[],
  hypothesis: readonly SpeakerTurn[],
  opts: { collarMs?: number } = {},
): DerResult {
  const collarMs = opts.collarMs ?? DEFAULT_COLLAR_MS;
  const stretches = scoredStretches(reference, hypothesis, collarMs);
  const mapping = optimalMapping(stretches);

  let missedMs = 0;
  let falseAlarmMs = 0;
  let confusionMs = 0;
  let referenceSpeechMs = 0;
  for (const { durationMs, reference: refs, hypothesis: hyps } of stretches) {
    let correct = 0;
    for (const r of refs) {
      const h = mapping.get(r);
      if (h !== undefined && hyps.has(h)) correct++;
    }
    missedMs += durationMs * Math.max(0, refs.size - hyps.size);
    falseAlarmMs += durationMs * Math.max(0, hyps.size - refs.size);
    confusionMs += durationMs * (Math.min(refs.size, hyps.size) - correct);
    referenceSpeechMs += durationMs * refs.size;
  }
  const errorMs = missedMs + falseAlarmMs + confusionMs;
  const der = referenceSpeechMs > 0 ? errorMs / referenceSpeechMs : errorMs > 0 ? Infinity : 0;
  return { der, missedMs, falseAlarmMs, confusionMs, referenceSpeechMs, mapping };
}

/** Cuts time at every boundary; keeps the pieces outside the collars with who speaks in each. */
function scoredStretches(
  reference: readonly SpeakerTurn[],
  hypothesis: readonly SpeakerTurn[],
  collarMs: number,
): ScoredStretch[] {
  const collars: [number, number][] = [];
  if (collarMs > 0) {
    for (const t of reference) {
      collars.push([t.startMs - collarMs, t.startMs + collarMs], [t.endMs - collarMs, t.endMs + collarMs]);
    }
  }
  const cuts = new Set<number>();
  for (const t of [...reference, ...hypothesis]) cuts.add(t.startMs).add(t.endMs);
  for (const [a, b] of collars) cuts.add(a).add(b);
  const times = [...cuts].sort((a, b) => a - b);

  const stretches: ScoredStretch[] = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const startMs = times[i];
    const endMs = times[i + 1];
    // Boundaries are all cut points, so the midpoint decides for the whole piece.
    const midMs = (startMs + endMs) / 2;
    if (collars.some(([a, b]) => midMs >= a && midMs < b)) continue;
    const refs = speakersAt(reference, midMs);
    const hyps = speakersAt(hypothesis, midMs);
    if (refs.size === 0 && hyps.size === 0) continue;
    stretches.push({ durationMs: endMs - startMs, reference: refs, hypothesis: hyps });
  }
  return stretches;
}

function speakersAt(turns: readonly SpeakerTurn[], ms: number): Set<string> {
  const speakers = new Set<string>();
  for (const t of turns) if (ms >= t.startMs && ms < t.endMs) speakers.add(t.speaker);
  return speakers;
}

function optimalMapping(stretches: readonly ScoredStretch[]): Map<string, string> {
  const refSpeakers = [...new Set(stretches.flatMap((s) => [...s.reference]))];
  const hypSpeakers = [...new Set(stretches.flatMap((s) => [...s.hypothesis]))];
  const together = refSpeakers.map(() => new Array<number>(hypSpeakers.length).fill(0));
  for (const s of stretches) {
    for (const r of s.reference) {
      for (const h of s.hypothesis) together[refSpeakers.indexOf(r)][hypSpeakers.indexOf(h)] += s.durationMs;
    }
  }
  const mapping = new Map<string, string>();
  maxScoreAssignment(together).forEach((h, r) => {
    if (h >= 0) mapping.set(refSpeakers[r], hypSpeakers[h]);
  });
  return mapping;
}

/**
 * Reads `SPEAKER <file> <channel> <start s> <duration s> <NA> <NA> <speaker> ...`
 * lines; other line types and blank lines are ignored.
 * @returns turns per file id
 */
export function parseRttm(text: string): Map<string, SpeakerTurn[]> {
  const files = new Map<string, SpeakerTurn[]>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== 'SPEAKER') continue;
    if (fields.length < 8) throw new Error(`malformed RTTM line: ${line}`);
    const startMs = Number(fields[3]) * 1000;
    const durationMs = Number(fields[4]) * 1000;
    if (!Number.isFinite(startMs) || !Number.isFinite(durationMs)) throw new Error(`malformed RTTM times: ${line}`);
    const turns = files.get(fields[1]) ?? [];
    turns.push({ speaker: fields[7], startMs, endMs: startMs + durationMs });
    files.set(fields[1], turns);
  }
  return files;
}
