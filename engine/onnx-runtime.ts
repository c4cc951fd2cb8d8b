/**
 * The engine's one import of onnxruntime-node. It switches off the runtime's
 * built-in telemetry before any session exists: left on, every process that
 * creates a session writes a session id file and a log into TMPDIR, and the
 * server promises to write nothing to disk. Set ORT_DISABLE_TELEMETRY=0 to
 * keep it.
 */
import * as ort from 'onnxruntime-node';

process.env.ORT_DISABLE_TELEMETRY ??= '1';

export { ort };
