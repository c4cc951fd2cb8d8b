/**
 * The streaming contract's pure parts (engine/asr/streaming-model.ts) and the
 * best path carried across chunks (extendGreedy in engine/asr/ctc.ts), on
 * known vectors.
 */
import { describe, expect, it } from 'vitest';
import { extendGreedy, greedyDecode, newGreedyCarry } from '../engine/asr/ctc.js';
import { completeFrames, frameStartSample } from '../engine/asr/fbank.js';
import { initialState, isStreamingModel, stackStates, streamingSpecOf, unstackState, windowReady } from '../engine/asr/streaming-model.js';

const META = {
  window_size: '24',
  chunk_shift: '16',
  subsampling_factor: '2',
  vocab_size: '28',
  cache_last_channel_dim1: '3',
  cache_last_channel_dim2: '1',
  cache_last_channel_dim3: '4',
  cache_last_time_dim1: '2',
  cache_last_time_dim2: '4',
  cache_last_time_dim3: '2',
};

describe('streaming model metadata', () => {
  it('reads the contract, the blank added to NeMo vocab_size', () => {
    expect(isStreamingModel(META)).toBe(true);
    expect(isStreamingModel({ vocab_size: '29', subsampling_factor: '2' })).toBe(false);
    expect(streamingSpecOf(META, 'm')).toEqual({
      windowFrames: 24,
      shiftFrames: 16,
      subsamplingFactor: 2,
      vocabSize: 29,
      channelCacheDims: [3, 1, 4],
      timeCacheDims: [2, 4, 2],
    });
  });

  it('names what is missing or inconsistent', () => {
    const { cache_last_time_dim2: _, ...missing } = META;
    expect(() => streamingSpecOf(missing, 'm.onnx')).toThrow('m.onnx: metadata cache_last_time_dim2 missing or invalid (got "undefined")');
    expect(() => streamingSpecOf({ ...META, chunk_shift: '32' }, 'm')).toThrow('chunk_shift 32 exceeds window_size 24');
    expect(() => streamingSpecOf({ ...META, chunk_shift: '15' }, 'm')).toThrow('not a multiple of subsampling_factor 2');
  });
});

describe('stream states', () => {
  it('stack along axis 0 and come apart unchanged', () => {
    const spec = streamingSpecOf(META, 'm');
    const states = [0, 1, 2].map((b) => {
      const s = initialState(spec);
      s.channelCache.forEach((_, i) => (s.channelCache[i] = b * 100 + i));
      s.timeCache.forEach((_, i) => (s.timeCache[i] = -b * 100 - i));
      s.channelCacheLen = BigInt(b * 7);
      return s;
    });
    const stacked = stackStates(states, spec);
    expect(stacked.channelCache.length).toBe(3 * 12);
    expect(stacked.channelCache[12]).toBe(100); // row 1 starts after row 0's 3 x 1 x 4 floats
    expect(stacked.timeCache[2 * 16 + 5]).toBe(-205);
    expect([...stacked.channelCacheLen]).toEqual([0n, 7n, 14n]);
    states.forEach((s, b) => expect(unstackState(stacked, b, spec)).toEqual(s));
  });

  it('start as zeros', () => {
    const s = initialState(streamingSpecOf(META, 'm'));
    expect(s.channelCache.every((x) => x === 0) && s.timeCache.every((x) => x === 0)).toBe(true);
    expect(s.channelCacheLen).toBe(0n);
  });
});

describe('windows', () => {
  it('are ready as sherpa-onnx IsReady says: the window ends strictly before the last complete frame', () => {
    const spec = streamingSpecOf(META, 'm');
    // Frame f covers samples [160 f - 120, 160 f + 280): 24 frames need 3960 samples, a 25th 4120.
    expect(frameStartSample(0)).toBe(-120);
    expect(completeFrames(279)).toBe(0);
    expect(completeFrames(280)).toBe(1);
    expect(completeFrames(4119)).toBe(24);
    expect(windowReady(spec, 0, completeFrames(4119))).toBe(false);
    expect(windowReady(spec, 0, completeFrames(4120))).toBe(true);
    expect(windowReady(spec, 16, completeFrames(4120 + 16 * 160 - 1))).toBe(false);
    expect(windowReady(spec, 16, completeFrames(4120 + 16 * 160))).toBe(true);
  });
});

describe('extendGreedy', () => {
  // 3 classes, blank 0; frames as one-hot log-probs.
  const frames = (ids: number[]) => {
    const lp = new Float32Array(ids.length * 3).fill(-10);
    ids.forEach((id, t) => (lp[t * 3 + id] = 0));
    return lp;
  };

  it('carried chunk by chunk equals one pass: a repeat across a boundary is one token, a blank between makes two', () => {
    const path = [1, 1, 0, 2, 2, 2, 0, 0, 2, 1, 1, 1];
    const whole = greedyDecode(frames(path), 0, path.length, 3, 0);
    for (const chunk of [1, 2, 3, 4, 6]) {
      const carry = newGreedyCarry();
      const added: number[] = [];
      for (let t = 0; t < path.length; t += chunk) added.push(extendGreedy(carry, frames(path.slice(t, t + chunk)), 0, chunk, 3, 0));
      expect(carry.hyp).toEqual(whole);
      expect(added.reduce((a, b) => a + b, 0)).toBe(whole.tokenIds.length);
      expect(carry.frames).toBe(path.length);
    }
    expect(whole.tokenIds).toEqual([1, 2, 2, 1]);
    expect(whole.frames).toEqual([0, 3, 8, 9]);
  });
});
