"""Exports the streaming demo model to models/demo-en-streaming-ctc/ in
sherpa-onnx's online NeMo CTC contract (OnlineNeMoCtcModel):

  inputs  (by position) audio_signal float32 [B, 80, W], length int64 [B],
          cache_last_channel float32 [B, 3, 1, 192],
          cache_last_time float32 [B, 1, 256, 24], cache_last_channel_len int64 [B]
  outputs log_probs float32 [B, S/2, 29] (blank last), lengths int64 [B],
          next cache_last_channel, next cache_last_time, next cache_last_channel_len
  metadata window_size, chunk_shift, vocab_size (28: without the blank),
          subsampling_factor, cache_last_{channel,time}_dim{1,2,3}, model_type,
          normalize_type "", trained_steps, comment

usage: export_streaming.py [CHECKPOINT[,CHECKPOINT...]] [OUT_DIR]
Several checkpoints are averaged weight by weight. Checks after export: the
graph with onnx.checker, and the torch model's chunked calls against one pass
over a whole (random) input and a row alone against a batch. With NODE_PATH
set to a node_modules holding sherpa-onnx-node, it also decodes the first
SHERPA_CHECK (default 40) held-out wavs (work/heldout) with sherpa-onnx's
OnlineRecognizer (check_sherpa.cjs) and with the torch model run chunk by
chunk on kaldi_fbank.py's features, and counts the transcripts that differ.
"""
import json
import os
import subprocess
import sys

import numpy as np

import onnx
import torch

import model_streaming as ms
from export import set_metadata

HERE = os.path.dirname(os.path.abspath(__file__))


class Chunk(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, audio_signal, length, cache_last_channel, cache_last_time, cache_last_channel_len):
        return self.m.forward_chunk(audio_signal, length, cache_last_channel, cache_last_time, cache_last_channel_len)


def main():
    ckpts = (sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "work", "stream-ckpt.pt")).split(",")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "models", "demo-en-streaming-ctc")
    os.makedirs(out_dir, exist_ok=True)
    states = [torch.load(c, map_location="cpu") for c in ckpts]
    weights = {k: sum(s["model"][k] for s in states) / len(states) for k in states[0]["model"]}
    steps = [s["step"] for s in states]
    model = ms.StreamingCtc()
    model.load_state_dict(weights)
    model.eval()
    d_full, d_batch = ms.check_streaming(model)
    print(f"chunked vs whole: max diff {d_full:.2e}; alone vs batch: {d_batch:.2e}")
    b = 2
    ch, tm, ln = model.initial_states(b)
    args = (torch.randn(b, 80, ms.WINDOW) - 8, torch.full((b,), ms.WINDOW, dtype=torch.int64), ch, tm, ln)
    path = os.path.join(out_dir, "model.onnx")
    ins = ["audio_signal", "length", "cache_last_channel", "cache_last_time", "cache_last_channel_len"]
    outs = ["log_probs", "lengths", "cache_last_channel_next", "cache_last_time_next", "cache_last_channel_len_next"]
    # The wrapper must be in eval mode too: export restores the wrapper's mode onto the whole tree afterwards.
    torch.onnx.export(Chunk(model).eval(), args, path, input_names=ins, output_names=outs,
                      dynamic_axes={n: {0: "B"} for n in ins + outs}, opset_version=13)
    m = onnx.load(path)
    meta = {
        "window_size": str(ms.WINDOW),
        "chunk_shift": str(ms.CHUNK_SHIFT),
        "vocab_size": str(len(ms.TOKENS) - 1),
        "subsampling_factor": str(ms.SUBSAMPLING),
        "cache_last_channel_dim1": str(ch.shape[1]),
        "cache_last_channel_dim2": str(ch.shape[2]),
        "cache_last_channel_dim3": str(ch.shape[3]),
        "cache_last_time_dim1": str(tm.shape[1]),
        "cache_last_time_dim2": str(tm.shape[2]),
        "cache_last_time_dim3": str(tm.shape[3]),
        "model_type": "EncDecCTCModelStreaming",
        "normalize_type": "",
        "model_author": "live-transcribe demo (tools/train-demo-model)",
        "comment": "Demo English char CTC streaming model trained on Debian TTS voices only; "
                   "window 24 frames = 16 new + 8 lookahead; see README.md",
    }
    set_metadata(m, meta, steps)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    with open(os.path.join(out_dir, "tokens.txt"), "w", encoding="utf-8") as f:
        for i, t in enumerate(ms.TOKENS):
            f.write(f"{t} {i}\n")
    print(f"exported steps {','.join(map(str, steps))} to {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    print("inputs", [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in m.graph.input])
    print("outputs", [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]) for o in m.graph.output])
    print("ops", sorted({n.op_type for n in m.graph.node}))
    if os.environ.get("NODE_PATH"):
        compare_with_sherpa(model, out_dir, int(os.environ.get("SHERPA_CHECK", "40")))


def compare_with_sherpa(model, out_dir, n):
    import kaldi_fbank
    import synth
    work = os.path.join(HERE, "work")
    with open(os.path.join(work, "heldout.jsonl")) as f:
        items = [json.loads(line) for line in f][:n]
    wavs = [os.path.join(work, it["wav"]) for it in items]
    out = subprocess.run(["node", os.path.join(HERE, "check_sherpa.cjs"), out_dir] + wavs, capture_output=True, text=True, check=True)
    sherpa_text = {r["wav"]: r["text"] for r in map(json.loads, out.stdout.splitlines())}
    differ = 0
    with torch.no_grad():
        for wav in wavs:
            samples = np.concatenate([synth.read_wav(wav), np.zeros(6400, np.float32)])
            feats = torch.from_numpy(kaldi_fbank.features(samples).T[None].copy())
            mine = " ".join(ms.greedy(ms.run_streaming(model, feats)[0]).split())
            theirs = " ".join(sherpa_text[wav].split())
            if mine != theirs:
                differ += 1
                print(f"  differs: {wav}\n    torch:  {mine}\n    sherpa: {theirs}")
    print(f"sherpa-onnx OnlineRecognizer vs torch chunked greedy: {len(wavs) - differ}/{len(wavs)} transcripts identical")


if __name__ == "__main__":
    main()
