import { describe, expect, it } from 'vitest';
import { diarizationErrorRate, parseRttm, type SpeakerTurn } from '../eval/der.js';

const turn = (speaker: string, startS: number, endS: number): SpeakerTurn => ({ speaker, startMs: startS * 1000, endMs: endS * 1000 });

describe('diarization error rate', () => {
  it('is 0 for a perfect hypothesis with other label names', () => {
    const ref = [turn('A', 0, 10), turn('B', 10, 20), turn('A', 20, 25)];
    const hyp = [turn('S2', 0, 10), turn('S1', 10, 20), turn('S2', 20, 25)];
    const r = diarizationErrorRate(ref, hyp, { collarMs: 0 });
    expect(r.der).toBe(0);
    expect(r.referenceSpeechMs).toBe(25_000);
    expect(r.mapping).toEqual(new Map([['A', 'S2'], ['B', 'S1']]));
  });

  it('counts everything as missed for an empty hypothesis', () => {
    const r = diarizationErrorRate([turn('A', 0, 10)], [], { collarMs: 0 });
    expect(r.der).toBe(1);
    expect(r.missedMs).toBe(10_000);
  });

  it('counts false alarm outside reference speech', () => {
    const r = diarizationErrorRate([turn('A', 0, 10)], [turn('X', 0, 12)], { collarMs: 0 });
    expect(r.falseAlarmMs).toBe(2000);
    expect(r.der).toBeCloseTo(0.2, 9);
  });

  it('counts confusion for the speaker left unmapped', () => {
    // One hypothesis speaker for two reference speakers: the longer (A) maps, B is confused.
    const r = diarizationErrorRate([turn('A', 0, 12), turn('B', 12, 20)], [turn('X', 0, 20)], { collarMs: 0 });
    expect(r.mapping.get('A')).toBe('X');
    expect(r.confusionMs).toBe(8000);
    expect(r.der).toBeCloseTo(8 / 20, 9);
  });

  it('scores overlapped reference speech per speaker', () => {
    // A and B overlap on [5, 10): 15 s of reference speech; one hypothesis speaker misses B there.
    const r = diarizationErrorRate([turn('A', 0, 10), turn('B', 5, 10)], [turn('X', 0, 10)], { collarMs: 0 });
    expect(r.referenceSpeechMs).toBe(15_000);
    expect(r.missedMs).toBe(5000);
    expect(r.confusionMs).toBe(0);
    expect(r.der).toBeCloseTo(5 / 15, 9);
  });

  it('ignores time within the collar of reference boundaries', () => {
    const ref = [turn('A', 0, 10)];
    const hyp = [turn('X', 0.2, 10.1)];
    expect(diarizationErrorRate(ref, hyp, { collarMs: 0 }).der).toBeCloseTo(0.3 / 10, 9);
    const collared = diarizationErrorRate(ref, hyp); // default 250 ms
    expect(collared.der).toBe(0);
    // 0.25 s cut at both ends of the only turn.
    expect(collared.referenceSpeechMs).toBeCloseTo(9500, 6);
  });

  it('mixes all three errors', () => {
    // ref: A [0,10), B [10,20); hyp: X [0,8), Y [8,16), Z [16,24).
    // mapping A→X (8 s), B→Y (6 s); confusion [8,10) and [16,20) = 6 s; false alarm [20,24) = 4 s.
    const r = diarizationErrorRate(
      [turn('A', 0, 10), turn('B', 10, 20)],
      [turn('X', 0, 8), turn('Y', 8, 16), turn('Z', 16, 24)],
      { collarMs: 0 },
    );
    expect(r.mapping).toEqual(new Map([['A', 'X'], ['B', 'Y']]));
    expect(r.confusionMs).toBe(6000);
    expect(r.falseAlarmMs).toBe(4000);
    expect(r.missedMs).toBe(0);
    expect(r.der).toBeCloseTo(10 / 20, 9);
  });
});

describe('RTTM', () => {
  it('parses SPEAKER lines per file in ms', () => {
    const text = [
      'SPEAKER dev00 1 1.440 11.872 <NA> <NA> MEE009 <NA> <NA>',
      '',
      'SPKR-INFO dev00 1 <NA> <NA> <NA> unknown MEE009 <NA>',
      'SPEAKER dev01 1 4.304 2.448 <NA> <NA> MEE012 <NA> <NA>',
    ].join('\n');
    const files = parseRttm(text);
    expect([...files.keys()]).toEqual(['dev00', 'dev01']);
    const [t] = files.get('dev00')!;
    expect(t.speaker).toBe('MEE009');
    expect(t.startMs).toBeCloseTo(1440, 6);
    expect(t.endMs).toBeCloseTo(13_312, 6);
  });

  it('rejects a malformed SPEAKER line', () => {
    expect(() => parseRttm('SPEAKER x 1 abc 1.0 <NA> <NA> A')).toThrow();
  });
});
