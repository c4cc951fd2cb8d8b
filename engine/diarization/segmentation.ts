/**
 * The pyannote segmentation-3.0 ONNX model: loads it and runs a batch of 10 s
 * windows in one call, [N, 1, 160000] → [N, 589, 7] powerset log-probabilities.
 * The only module here that touches onnxruntime.
 */
import { ort } from '../onnx-runtime.js';
import { POWERSET_CLASSES, WINDOW_FRAMES, WINDOW_SAMPLES } from './frames.js';

export class SegmentationModel {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** @param intraOpThreads CPU threads for one call (0: onnxruntime's default, one per core). */
  static async load(modelPath: string, intraOpThreads: number): Promise<SegmentationModel> {
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    if (session.inputNames[0] !== 'x' || session.outputNames[0] !== 'y') {
      throw new Error(`${modelPath}: expected input x and output y, got ${session.inputNames} → ${session.outputNames}`);
    }
    return new SegmentationModel(session);
  }

  /**
   * @param windows `count` windows of WINDOW_SAMPLES samples back to back
   * @returns row-major [count, WINDOW_FRAMES, 7] log-probabilities
   */
  async run(windows: Float32Array, count: number): Promise<Float32Array> {
    if (windows.length !== count * WINDOW_SAMPLES) throw new Error('batch size does not match the audio');
    const x = new ort.Tensor('float32', windows, [count, 1, WINDOW_SAMPLES]);
    const { y } = await this.session.run({ x });
    const [n, frames, classes] = y.dims;
    if (n !== count || frames !== WINDOW_FRAMES || classes !== POWERSET_CLASSES) {
      throw new Error(`segmentation output [${y.dims}], expected [${count}, ${WINDOW_FRAMES}, ${POWERSET_CLASSES}]`);
    }
    return y.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
