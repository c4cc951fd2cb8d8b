/**
 * The pyannote segmentation-3.0 ONNX model: loads it and runs a batch of 10 s
 * windows in one call, [N, 1, 160000] → [N, 589, 7] powerset log-probabilities.
 * The only module here that runs a model; the model runs on its own
 * thread (../model-thread.ts), since a call takes tens of ms per window.
 */
import { readFile } from 'node:fs/promises';
import { ModelThread } from '../model-thread.js';
import { POWERSET_CLASSES, WINDOW_FRAMES, WINDOW_SAMPLES } from './frames.js';

export class SegmentationModel {
  private constructor(private readonly model: ModelThread) {}

  /** @param intraOpThreads CPU threads for one call (0: onnxruntime's default, one per core). */
  static async load(modelPath: string, intraOpThreads: number): Promise<SegmentationModel> {
    const model = await ModelThread.start({
      modelBytes: await readFile(modelPath),
      options: { intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' },
    });
    if (model.inputNames[0] !== 'x' || model.outputNames[0] !== 'y') {
      await model.close();
      throw new Error(`${modelPath}: expected input x and output y, got ${model.inputNames} → ${model.outputNames}`);
    }
    return new SegmentationModel(model);
  }

  /**
   * @param windows `count` windows of WINDOW_SAMPLES samples back to back
   * @returns row-major [count, WINDOW_FRAMES, 7] log-probabilities
   */
  async run(windows: Float32Array, count: number): Promise<Float32Array> {
    if (windows.length !== count * WINDOW_SAMPLES) throw new Error('batch size does not match the audio');
    // A copy goes to the thread: the caller still reads `windows` (speaker embeddings).
    const { y } = await this.model.run({ x: { type: 'float32', data: windows.slice(), dims: [count, 1, WINDOW_SAMPLES] } });
    const [n, frames, classes] = y.dims;
    if (n !== count || frames !== WINDOW_FRAMES || classes !== POWERSET_CLASSES) {
      throw new Error(`segmentation output [${y.dims}], expected [${count}, ${WINDOW_FRAMES}, ${POWERSET_CLASSES}]`);
    }
    return y.data;
  }

  async release(): Promise<void> {
    await this.model.close();
  }
}
