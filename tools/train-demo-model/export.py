"""Exports the trained demo model to models/demo-en-ctc/ in sherpa-onnx's
NeMo CTC format: model.onnx (features [B, 80, T], features_length [B] ->
log_probs [B, T', V]) with metadata vocab_size, subsampling_factor,
normalize_type, plus tokens.txt ("<symbol> <id>" per line).

usage: export.py [CHECKPOINT[,CHECKPOINT...]] [OUT_DIR]
Several checkpoints (comma-separated) are averaged weight by weight, which
generalises a little better than any one of them (see the model's README).
A checkpoint may also be weights in .npz with size and step in a .json beside
it (save_portable), as lent-gpu/run.sh brings them back from a machine with
another torch.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch

from model import DemoCtc, TOKENS, load_weights, SUBSAMPLING

HERE = os.path.dirname(os.path.abspath(__file__))


def save_portable(checkpoint, stem):
    """A checkpoint's weights as STEM.npz and its size and step as STEM.json:
    plain arrays, readable by any torch (a lent machine's is newer than Debian's)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    np.savez(stem + ".npz", **{k: v.cpu().numpy() for k, v in state["model"].items()})
    with open(stem + ".json", "w") as f:
        json.dump({"size": state["size"], "step": state["step"]}, f)


def load_state(path):
    """A checkpoint from train.py, or one save_portable wrote (path ending in .npz)."""
    if path.endswith(".npz"):
        weights = np.load(path)
        with open(path[: -len(".npz")] + ".json") as f:
            return {"model": {k: torch.from_numpy(weights[k]) for k in weights.files}, **json.load(f)}
    return torch.load(path, map_location="cpu", weights_only=False)


def set_metadata(m, meta, steps):
    """Replaces the ONNX model's metadata with `meta` plus the steps its weights
    come from (`trained_steps`, and `averaged_steps` for an average). Shared with
    export_streaming.py."""
    meta = {**meta, "trained_steps": str(max(steps))}
    if len(steps) > 1:
        meta["averaged_steps"] = ",".join(str(s) for s in steps)
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v


def main():
    ckpts = (sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "work", "ckpt.pt")).split(",")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "models", "demo-en-ctc")
    os.makedirs(out_dir, exist_ok=True)
    states = [load_state(c) for c in ckpts]
    weights = {k: sum(s["model"][k] for s in states) / len(states) for k in states[0]["model"]}
    steps = [s["step"] for s in states]
    sizes = {str(s.get("size", {})) for s in states}
    if len(sizes) > 1:
        sys.exit(f"cannot average checkpoints of different model sizes: {sizes}")
    size = states[0].get("size", {})
    model = DemoCtc(**size)
    load_weights(model, weights)
    model.eval()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, features, features_length):
            return self.m(features, features_length)[0]

    x = torch.randn(2, 80, 300)
    lengths = torch.tensor([300, 200], dtype=torch.int64)
    path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(
        Wrapper(model), (x, lengths), path,
        input_names=["features", "features_length"], output_names=["log_probs"],
        dynamic_axes={"features": {0: "N", 2: "T"}, "features_length": {0: "N"}, "log_probs": {0: "N", 1: "T_out"}},
        opset_version=13,
    )
    m = onnx.load(path)
    meta = {
        "vocab_size": str(len(TOKENS)),
        "subsampling_factor": str(SUBSAMPLING),
        "normalize_type": "per_feature",
        "model_type": "EncDecCTCModel",
        "model_author": "live-transcribe demo (tools/train-demo-model)",
        "comment": "Demo English char CTC model trained on Debian TTS voices only; see README.md",
    }
    set_metadata(m, meta, steps)
    onnx.save(m, path)
    # Weights and step (no optimizer state: a third of the size) for train.py --resume elsewhere.
    torch.save({"model": model.state_dict(), "size": size, "step": max(steps)}, os.path.join(HERE, "checkpoint.pt"))
    with open(os.path.join(out_dir, "tokens.txt"), "w", encoding="utf-8") as f:
        for i, t in enumerate(TOKENS):
            f.write(f"{t} {i}\n")
    print(f"exported steps {','.join(map(str, steps))} to {path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
