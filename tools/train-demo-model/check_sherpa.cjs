// Decodes wavs with sherpa-onnx-node's OnlineRecognizer (NeMo CTC, greedy)
// and the streaming model in models/demo-en-streaming-ctc, appending 0.4 s
// of zeros as the runtime does; prints one JSON line per wav: {wav, text}.
// Compared by `train_streaming.py --compare-sherpa` with the PyTorch chunked
// decode of the same wavs (features from kaldi_fbank.py).
// usage: NODE_PATH=<node_modules> node check_sherpa.cjs MODEL_DIR WAV...
const sherpa = require('sherpa-onnx-node');
const path = require('path');

const dir = process.argv[2];
const recognizer = new sherpa.OnlineRecognizer({
  featConfig: { sampleRate: 16000, featureDim: 80 },
  modelConfig: {
    nemoCtc: { model: path.join(dir, 'model.onnx') },
    tokens: path.join(dir, 'tokens.txt'),
    numThreads: 1,
    debug: 0,
  },
  decodingMethod: 'greedy_search',
  enableEndpoint: 0,
});
for (const wav of process.argv.slice(3)) {
  const w = sherpa.readWave(wav);
  const stream = recognizer.createStream();
  stream.acceptWaveform({ samples: w.samples, sampleRate: w.sampleRate });
  stream.acceptWaveform({ samples: new Float32Array(6400), sampleRate: 16000 });
  stream.inputFinished();
  while (recognizer.isReady(stream)) recognizer.decode(stream);
  const r = recognizer.getResult(stream);
  console.log(JSON.stringify({ wav, text: r.text.trim() }));
}
