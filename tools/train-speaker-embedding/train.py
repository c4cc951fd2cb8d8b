"""A small STAND-IN speaker-embedding model for tests and the bench: it
exercises the server's --speaker-embedding-model wiring with the input
contract of sherpa-onnx's WeSpeaker exports, without any downloaded weights.
It knows only the synthetic voices below and is no substitute for a real
model (WeSpeaker ResNet34, 3D-Speaker CAM++, NeMo TitaNet) on real speech.

Speakers: a speaker is one TTS voice at one fixed mean pitch and rate:
espeak-ng dialect + variant, flite voices at a set mean pitch, festival's
diphone / HTS voices. Each speaker reads sentences from the same Debian
text as tools/train-demo-model (corpus.py). Augmentation: gain, additive
noise at random SNR, random crops of 1 to 3 s.

Model: per-utterance mean subtraction inside the graph (WeSpeaker's CMN),
a dilated 1-D convolution stack (TDNN), mean + std pooling over time and a
linear layer to a 128-d embedding, trained with additive angular margin
softmax. About 0.15 M parameters.

Contract (what sherpa-onnx's WeSpeaker exports take): input `feats` float32
[N, T, 80], kaldi fbank (kaldi_fbank.py: povey window, 20-7600 Hz, no
dither, snip_edges false) of samples scaled to the int16 range
(metadata normalize_samples = 0); output `embs` [N, 128]. Metadata:
framework=wespeaker, sample_rate, output_dim, normalize_samples, language,
comment.

usage: train.py synth | train.py train | train.py export OUT.onnx
Work files go to work/ beside this script (not committed).
Run under `echo 19 > /proc/$$/autogroup;` on a shared machine: synth takes a
few minutes and training (1500 steps of 32 crops) ~15 minutes on one core.
"""
import os
import random
import subprocess
import sys
import tempfile

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train-demo-model"))
import corpus  # noqa: E402
import kaldi_fbank  # noqa: E402
from synth import ESPEAK_DIALECTS, ESPEAK_VARIANTS, FLITE_TRAIN, read_wav  # noqa: E402

WORK = os.path.join(HERE, "work")
INT16_SCALE = 32768.0  # normalize_samples = 0: fbank of int16-range samples
EMBEDDING_DIM = 128
UTTERANCES_PER_SPEAKER = 12
SEED = 7


def speakers(rng):
    """(engine, voice, pitch, rate) tuples: one synthetic person each."""
    out = []
    for _ in range(200):
        voice = f"{rng.choice(ESPEAK_DIALECTS)}+{rng.choice(ESPEAK_VARIANTS)}"
        out.append(("espeak", voice, rng.randint(20, 80), rng.randint(140, 195)))
    for voice in FLITE_TRAIN + ["rms"]:
        for pitch in (90, 120, 150, 180, 210):
            out.append(("flite", voice, pitch, 0))
    for voice in ("(voice_kal_diphone)", "(voice_ked_diphone)", "(voice_cmu_us_slt_arctic_hts)"):
        out.append(("festival", voice, 0, 0))
    return out


def speak(spk, text, path):
    engine, voice, pitch, rate = spk
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", path, text]
        subprocess.run(cmd, check=True, capture_output=True)
    elif engine == "flite":
        cmd = ["flite", "-voice", voice, "--setf", f"int_f0_target_mean={pitch}", "-t", text, "-o", path]
        subprocess.run(cmd, check=True, capture_output=True)
    else:
        subprocess.run(["text2wave", "-eval", voice, "-o", path], input=text.encode(), check=True, capture_output=True)


def synth():
    rng = random.Random(SEED)
    spks = speakers(rng)
    sentences = [s for s in (corpus.normalise(x) for x in corpus.raw_sentences()) if 4 <= len(s.split()) <= 20]
    feats, labels = [], []
    with tempfile.TemporaryDirectory() as tmp:
        raw, wav = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "16k.wav")
        for i, spk in enumerate(spks):
            for _ in range(UTTERANCES_PER_SPEAKER):
                try:
                    speak(spk, rng.choice(sentences), raw)
                    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav], check=True, capture_output=True)
                except subprocess.CalledProcessError:
                    continue
                x = read_wav(wav)
                if len(x) < 16000:
                    continue
                feats.append(kaldi_fbank.features(x * INT16_SCALE).astype(np.float16))
                labels.append(i)
            print(f"speaker {i + 1}/{len(spks)}: {len(feats)} utterances", flush=True)
    os.makedirs(WORK, exist_ok=True)
    np.savez(os.path.join(WORK, "data.npz"), lengths=np.array([len(f) for f in feats]), feats=np.concatenate(feats), labels=np.array(labels), speakers=len(spks))


def model_classes():
    import torch
    import torch.nn as nn

    class Embedder(nn.Module):
        def __init__(self):
            super().__init__()
            layers, channels = [], 80
            for out, kernel, dilation in ((96, 5, 1), (96, 3, 2), (96, 3, 3), (192, 1, 1)):
                layers += [nn.Conv1d(channels, out, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2), nn.ReLU(), nn.BatchNorm1d(out)]
                channels = out
            self.tdnn = nn.Sequential(*layers)
            self.embed = nn.Linear(2 * channels, EMBEDDING_DIM)

        def forward(self, feats):  # [N, T, 80]
            x = feats - feats.mean(dim=1, keepdim=True)  # CMN, as WeSpeaker's exports do inside
            h = self.tdnn(x.transpose(1, 2))
            stats = torch.cat([h.mean(dim=2), torch.sqrt(h.var(dim=2, unbiased=False) + 1e-5)], dim=1)
            return self.embed(stats)

    class AamSoftmax(nn.Module):
        def __init__(self, classes, margin=0.2, scale=30.0):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(classes, EMBEDDING_DIM) * 0.01)
            self.margin, self.scale = margin, scale

        def forward(self, emb, labels):
            cos = nn.functional.linear(nn.functional.normalize(emb), nn.functional.normalize(self.weight))
            theta = torch.acos(cos.clamp(-1 + 1e-6, 1 - 1e-6))
            target = torch.cos(theta + self.margin)
            onehot = nn.functional.one_hot(labels, cos.shape[1]).bool()
            logits = self.scale * torch.where(onehot, target, cos)
            return nn.functional.cross_entropy(logits, labels)

    return Embedder, AamSoftmax


def train(steps=1500, batch=32):
    import torch

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    d = np.load(os.path.join(WORK, "data.npz"))
    starts = np.concatenate([[0], np.cumsum(d["lengths"])[:-1]])
    feats, lengths, labels = d["feats"], d["lengths"], d["labels"]
    Embedder, AamSoftmax = model_classes()
    model, head = Embedder(), AamSoftmax(int(d["speakers"]))
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for step in range(steps):
        frames = int(rng.integers(100, 250))
        idx = rng.integers(0, len(labels), batch)
        x = np.zeros((batch, frames, 80), np.float32)
        for b, i in enumerate(idx):
            take = min(frames, lengths[i])
            s = starts[i] + int(rng.integers(0, lengths[i] - take + 1))
            crop = feats[s : s + take].astype(np.float32)
            # Shorter utterances repeat to fill the crop (as the engine tiles short speech).
            x[b] = np.resize(crop, (frames, 80)) if take < frames else crop
        # Gain (a constant on log energies) and noise (a floor under them).
        x += rng.uniform(-3, 3, (batch, 1, 1)).astype(np.float32)
        floor = rng.uniform(5, 18, (batch, 1, 1)).astype(np.float32)
        x = np.where(rng.random((batch, 1, 1)) < 0.5, np.logaddexp(x, floor), x).astype(np.float32)
        loss = head(model(torch.from_numpy(x)), torch.from_numpy(labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
    torch.save(model.state_dict(), os.path.join(WORK, "model.pt"))


def export(out_path):
    import onnx
    import torch

    Embedder, _ = model_classes()
    model = Embedder()
    model.load_state_dict(torch.load(os.path.join(WORK, "model.pt")))
    model.eval()
    torch.onnx.export(
        model, torch.randn(2, 200, 80), out_path, input_names=["feats"], output_names=["embs"],
        dynamic_axes={"feats": {0: "N", 1: "T"}, "embs": {0: "N"}}, opset_version=13,
    )
    m = onnx.load(out_path)
    meta = {
        "framework": "wespeaker",
        "sample_rate": "16000",
        "output_dim": str(EMBEDDING_DIM),
        "normalize_samples": "0",
        "language": "English",
        "comment": "STAND-IN trained on synthetic TTS voices only (tools/train-speaker-embedding); not for real speech",
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, out_path)
    print(f"{out_path}: {os.path.getsize(out_path)} bytes")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "synth":
        synth()
    elif cmd == "train":
        train()
    elif cmd == "export" and len(sys.argv) == 3:
        export(sys.argv[2])
    else:
        sys.exit(__doc__)
