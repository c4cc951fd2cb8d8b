/**
 * A model folder's decoding defaults (engine/asr/decoding-file.ts): what the
 * recognizer decodes with when the folder has a decoding.json, when it has
 * none, and when a flag says otherwise; bad files fail at start with the file
 * and the key named.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDecodingFile } from '../engine/asr/decoding-file.js';
import { DEFAULT_BEAM_DECODING, recognizerSetup } from '../engine/asr/recognizer.js';
import { DEMO_MODEL_DIR, DEMO_STREAMING_MODEL_DIR } from '../engine/models/resolve.js';
import { loadConfig, usage } from '../server/config.js';

const filesOf = (dir: string) => ({ modelPath: path.join(dir, 'model.onnx'), tokensPath: path.join(dir, 'tokens.txt') });

/** A model folder holding the offline demo model and `decodingJson` as its decoding.json. */
function folderWith(decodingJson: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'decoding-file-'));
  for (const f of ['model.onnx', 'tokens.txt']) copyFileSync(path.join(DEMO_MODEL_DIR, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'decoding.json'), decodingJson);
  return dir;
}

describe('decoding defaults beside the model', () => {
  it('the streaming demo model decodes with its own LM weight, the offline one with the engine-wide defaults', async () => {
    expect(readDecodingFile(filesOf(DEMO_STREAMING_MODEL_DIR).modelPath)).toEqual({ lmWeight: 0.5 });
    const streaming = await recognizerSetup(filesOf(DEMO_STREAMING_MODEL_DIR));
    expect(streaming.search.lm.lmWeight).toBe(0.5);
    expect(streaming.search.lm.wordLmWeight).toBe(DEFAULT_BEAM_DECODING.wordLmWeight);
    expect(readDecodingFile(filesOf(DEMO_MODEL_DIR).modelPath)).toEqual({});
    expect((await recognizerSetup(filesOf(DEMO_MODEL_DIR))).search.lm.lmWeight).toBe(DEFAULT_BEAM_DECODING.lmWeight);
  });

  it('a setting given explicitly wins over the file', async () => {
    const cfg = loadConfig(['--lm-weight', '0.3'], {});
    expect(cfg.lmWeight).toBe(0.3);
    expect(loadConfig([], {}).lmWeight).toBeUndefined();
    const setup = await recognizerSetup({ ...filesOf(DEMO_STREAMING_MODEL_DIR), lmWeight: cfg.lmWeight });
    expect(setup.search.lm.lmWeight).toBe(0.3);
    expect(usage()).toMatch(/--lm-weight .*default: the model folder's decoding\.json, else 0\.15/);
  });

  it('every setting of the file reaches the search', async () => {
    const dir = folderWith('{ "beamSize": 8, "tokenFloorNats": 7, "scoreWindowNats": 10, "wordBonus": 2, "oovPenalty": 9, "lmTokenBonus": 1, "wordLmWeight": 0.4, "lmWeight": 0.2 }');
    const { search } = await recognizerSetup(filesOf(dir));
    expect(search.beamSize).toBe(8);
    expect(search.pruning).toEqual({ tokenFloorNats: 7, scoreWindowNats: 10 });
    expect(search.lm).toMatchObject({ lmWeight: 0.2, lmTokenBonus: 1, wordLmWeight: 0.4, wordBonus: 2, oovPenalty: 9 });
  });

  it.each([
    ['{ "lmWeight": ', /not JSON/],
    ['[0.5]', /must be a JSON object/],
    ['{ "lmWieght": 0.5 }', /unknown setting "lmWieght" \(known: beamSize, /],
    ['{ "lmWeight": "0.5" }', /"lmWeight" must be a non-negative number/],
    ['{ "wordBonus": -1 }', /"wordBonus" must be a non-negative number/],
    ['{ "beamSize": 2.5 }', /"beamSize" must be a whole number/],
  ])('a bad file (%s) is refused with its name and the reason', async (json, reason) => {
    const dir = folderWith(json);
    const file = path.join(dir, 'decoding.json');
    expect(() => readDecodingFile(path.join(dir, 'model.onnx'))).toThrow(reason);
    await expect(recognizerSetup(filesOf(dir))).rejects.toThrow(file);
  });
});
