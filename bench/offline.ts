/**
 * Scenario `offline`: the recognizer alone. The same 64 utterances of mixed
 * lengths decoded in batches of 1, 4, 16 and 64: utterances per second,
 * audio seconds per wall second and real-time factor, median of 3 runs.
 *
 * usage: npm run bench -- offline [--model DIR]
 */
import path from 'node:path';
import { CtcRecognizer } from '../engine/asr/recognizer.js';
import { synthesize } from '../tests/helpers/speech.js';
import { PROJECT_ROOT, percentile } from './lib/server-process.js';

const SENTENCES = [
  'please call stella at four fifteen tomorrow',
  'the train leaves at seven thirty from platform nine',
  'you will be called upon to help a friend in trouble',
  'if the very old will remember the very young will listen to the stories of the old days',
  'never give a sucker an even break',
  'we counted forty two people at the station before the doors opened in the morning',
  'send the report',
  'the meeting moved to the second floor of the old building near the river',
];

export async function benchOffline(modelDir = path.join(PROJECT_ROOT, 'models/demo-en-ctc'), batchSizes = [1, 4, 16, 64]): Promise<object[]> {
  const rec = await CtcRecognizer.load({ modelPath: path.join(modelDir, 'model.onnx'), tokensPath: path.join(modelDir, 'tokens.txt') });
  const base = SENTENCES.map((s, i) => synthesize(s, { engine: 'espeak', voice: ['en-us', 'en-gb', 'en-us+f3', 'en-gb-x-rp+m3'][i % 4] }));
  const utts = Array.from({ length: 64 }, (_, i) => base[i % base.length]);
  const audioS = utts.reduce((n, u) => n + u.length / 16000, 0);
  await rec.recognizeBatch(utts.slice(0, 4)); // warm-up
  const rows: object[] = [];
  for (const b of batchSizes) {
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      for (let i = 0; i < utts.length; i += b) await rec.recognizeBatch(utts.slice(i, i + b));
      times.push((performance.now() - t0) / 1000);
    }
    const s = percentile(times, 50);
    const row = { batch: b, utterances_per_s: Math.round((utts.length / s) * 10) / 10, audio_s_per_s: Math.round((audioS / s) * 10) / 10, rtf: Math.round((s / audioS) * 10000) / 10000 };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.table(rows);
  await rec.close();
  return rows;
}
