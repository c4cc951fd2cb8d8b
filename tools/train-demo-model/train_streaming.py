"""Trains the streaming demo model (model_streaming.py) on kaldi features,
starting from the offline demo model's weights (checkpoint.pt).

usage: train_streaming.py --init            # build work/stream-init.pt
       train_streaming.py --seconds S [--lr LR] [--resume]
       train_streaming.py --eval CKPT[,CKPT...] [--limit N]   # several: averaged
Data: work/feats-kaldi/shard*.npz from `SYNTH_FEATURES=kaldi synth.py train N
1000 450000` (stream utterances the offline model never heard); shards that
appear while training runs are loaded at the next epoch.

--init: the input norm's per-bin mean / std over the first shard's kaldi
features; the 80x80 input map fitted by least squares from normalised kaldi
features to the NeMo features of the same audio (stored beside them); the
offline weights copied where they fit (init_from_offline); the fixed norms
calibrated on a batch of training utterances (calibrate).
Training: CTC (blank last), AdamW, warm-up then cosine over --seconds,
SpecAugment (masks set to the bin's mean) and dropout 0.1 unless --regularize 0. Each utterance gets
PAD_FRAMES frames of digital silence appended, as the runtime appends 0.4 s
of zeros. Checkpoints: work/stream-ckpt.pt (latest), and work/stream-stepN.pt
at each evaluation. Evaluation is chunked exactly as the runtime runs the
model (run_streaming), greedy, on the held-out set's wavs + 0.4 s of zeros.
"""
import argparse
import glob
import json
import math
import os
import random
import time

import numpy as np
import torch

import kaldi_fbank
import shards
import wer
import model_streaming as ms
from train import batches, ctc_step

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
INIT = os.path.join(WORK, "stream-init.pt")
CKPT = os.path.join(WORK, "stream-ckpt.pt")
WARMUP_STEPS = int(os.environ.get("WARMUP_STEPS", "150"))  # a --resume may want fewer


def shard_paths():
    return sorted(glob.glob(os.path.join(WORK, "feats-kaldi", "shard[0-9]*.npz")))


def load_heldout(limit=None):
    cache = os.path.join(WORK, "heldout-kaldi.npz")
    if not os.path.exists(cache):
        import synth
        with open(os.path.join(WORK, "heldout.jsonl")) as f:
            items = [json.loads(line) for line in f]
        feats = []
        for it in items:
            samples = synth.read_wav(os.path.join(WORK, it["wav"]))
            samples = np.concatenate([samples, np.zeros(int(16000 * ms.PAD_SECONDS), np.float32)])
            feats.append(kaldi_fbank.features(samples))
        shards.write_shard_f16(cache, feats, [it["text"] for it in items])
    feats, texts = shards.read_shard_f16(cache)
    return list(zip(feats, texts))[:limit]


def pad_batch(xs):
    """list of [T, 80] -> [B, 80, T_max rounded up to 4] padded with digital silence."""
    t = max(len(x) for x in xs)
    t += (-t) % 4  # whole 40 ms GRU frames
    out = np.full((len(xs), 80, t), ms.LOG_FLOOR, np.float32)
    for j, f in enumerate(xs):
        out[j, :, : len(f)] = f.T
    return torch.from_numpy(out)


def evaluate(model, heldout, batch=50):
    model.eval()
    refs, hyps = [], []
    with torch.no_grad():
        for s in range(0, len(heldout), batch):
            part = heldout[s : s + batch]
            logp = ms.run_streaming(model, pad_batch([f for f, _ in part]))
            for j, (f, text) in enumerate(part):
                calls = max(0, (len(f) - ms.WINDOW) // ms.CHUNK_SHIFT + 1)
                hyps.append(ms.greedy(logp[j, : calls * ms.OUT_PER_CALL]))
                refs.append(text)
    model.train()
    return wer.corpus_wer(refs, hyps), list(zip(refs, hyps))


def spec_augment(x, mean, rng):
    x = x.copy()
    t = x.shape[0]
    for _ in range(2):
        w = rng.randint(0, 10)
        f0 = rng.randint(0, 80 - w)
        x[:, f0 : f0 + w] = mean[f0 : f0 + w]
    for _ in range(max(1, t // 300)):
        w = rng.randint(0, 20)
        t0 = rng.randint(0, max(1, t - w))
        x[t0 : t0 + w] = mean
    return x


def with_silence(f):
    return np.concatenate([f, np.full((ms.PAD_FRAMES, 80), ms.LOG_FLOOR, np.float32)])


def build_init():
    paths = shard_paths()
    kf, texts = shards.read_shard_f16(paths[0])
    nf, _ = shards.read_shard_f16(paths[0], "feats_nemo")
    allk = np.concatenate(kf).astype(np.float64)
    mean, std = allk.mean(0), allk.std(0) + 1e-3
    model = ms.StreamingCtc()
    model.feat_mean.copy_(torch.tensor(mean, dtype=torch.float32))
    model.feat_istd.copy_(torch.tensor(1 / std, dtype=torch.float32))
    # Least squares: normalised kaldi features (+ bias) -> NeMo features, frame by frame.
    rng = np.random.default_rng(0)
    pick = rng.choice(len(allk), size=min(len(allk), 200000), replace=False)
    a = np.concatenate([((allk - mean) / std)[pick], np.ones((len(pick), 1))], axis=1)
    b = np.concatenate(nf).astype(np.float64)[pick]
    sol = np.linalg.solve(a.T @ a + 1e-3 * np.eye(81), a.T @ b)  # [81, 80]
    resid = np.mean((a @ sol - b) ** 2)
    print(f"input map fit: mean squared residual {resid:.3f} (NeMo features have unit variance)", flush=True)
    with torch.no_grad():
        model.inmap.weight.copy_(torch.tensor(sol[:80].T[:, :, None], dtype=torch.float32))
        model.inmap.bias.copy_(torch.tensor(sol[80], dtype=torch.float32))
    offline = torch.load(os.path.join(HERE, "checkpoint.pt"), map_location="cpu")
    ms.init_from_offline(model, offline["model"])
    idx = list(range(0, len(kf), max(1, len(kf) // 120)))[:120]
    x = pad_batch([with_silence(kf[i]) for i in idx])
    ms.calibrate(model, x, torch.full((len(idx),), x.shape[2]), offline["model"])
    torch.save({"model": model.state_dict(), "step": 0}, INIT)
    print(f"wrote {INIT}; streaming check (chunked vs whole, alone vs batch): {ms.check_streaming(model)}", flush=True)
    return model


def lr_factor(step, progress):
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    return warm * (0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * 0.97 + 0.03)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", action="store_true")
    ap.add_argument("--eval")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--batch-frames", type=int, default=5000)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--eval-limit", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1, help="1: OpenMP's 2 threads on 2 busy cores ran 6x slower")
    ap.add_argument("--regularize", type=int, default=1, help="0: no SpecAugment and no dropout (faster fitting)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.init:
        model = build_init()
        w, ex = evaluate(model, load_heldout(args.limit))
        print(f"init: held-out greedy WER (chunked) {w * 100:.1f}%", ex[:3], flush=True)
        return
    if args.eval:
        states = [torch.load(p, map_location="cpu") for p in args.eval.split(",")]  # several: averaged
        state = {"step": max(s["step"] for s in states),
                 "model": {k: sum(s["model"][k] for s in states) / len(states) for k in states[0]["model"]}}
        model = ms.StreamingCtc()
        model.load_state_dict(state["model"])
        heldout = load_heldout(args.limit)
        w, ex = evaluate(model, heldout)
        print(f"{args.eval} step {state['step']}: held-out greedy WER (chunked) {w * 100:.1f}% on {len(ex)}", flush=True)
        with open(os.path.join(WORK, "heldout.jsonl")) as f:
            engines = [json.loads(line)["engine"] for line in f][: len(ex)]
        half = len(ex) // 2
        for name, sel in (("first half", range(half)), ("second half", range(half, len(ex))),
                          ("espeak-ng", [i for i, e in enumerate(engines) if e == "espeak"]),
                          ("flite rms", [i for i, e in enumerate(engines) if e == "flite"])):
            print(f"  {name} ({len(sel)}): {wer.corpus_wer([ex[i][0] for i in sel], [ex[i][1] for i in sel]) * 100:.1f}%")
        for r, h in ex[:5]:
            print(f"  ref: {r}\n  hyp: {h}")
        return
    state = torch.load(CKPT if args.resume else INIT, map_location="cpu")
    model = ms.StreamingCtc(dropout=0.1 if args.regularize else 0.0)
    model.load_state_dict(state["model"])
    step = state["step"]
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-3)
    if args.resume and "opt" in state:
        opt.load_state_dict(state["opt"])
    heldout = load_heldout(args.eval_limit)
    ctc = torch.nn.CTCLoss(blank=ms.BLANK, zero_infinity=True)
    rng = random.Random(step)
    mean = model.feat_mean.numpy().copy()
    feats, texts, loaded = [], [], set()

    def load_new_shards():
        new = [p for p in shard_paths() if p not in loaded]
        for p in new:
            f, t = shards.read_shard_f16(p)
            feats.extend(x.astype(np.float16) for x in f)
            texts.extend(t)
            loaded.add(p)
        if new:
            print(f"{len(feats)} utterances, {sum(len(f) for f in feats) / 360000:.2f} h", flush=True)

    def save(path):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, path + ".tmp")
        os.replace(path + ".tmp", path)

    first, started, t0, losses = step, time.time(), time.time(), []
    progress = lambda: (time.time() - started) / args.seconds
    model.train()
    done = False
    while not done:
        load_new_shards()
        for idx in batches([len(f) for f in feats], rng, args.batch_frames):
            xs = [feats[i].astype(np.float32) for i in idx]
            xs = [with_silence(spec_augment(x, mean, rng) if args.regularize else x) for x in xs]
            x = pad_batch(xs)
            xl = torch.tensor([len(f) for f in xs])
            ys = [ms.text_to_ids(texts[i]) for i in idx]
            y = torch.tensor([c for q in ys for c in q])
            yl = torch.tensor([len(q) for q in ys])
            losses.append(ctc_step(model, opt, ctc, args.lr * lr_factor(step - first, progress()), x, xl, y, yl))
            step += 1
            done = progress() >= 1
            if step % 25 == 0:
                print(f"step {step} loss {np.mean(losses[-25:]):.3f} lr {opt.param_groups[0]['lr']:.2e} "
                      f"{(time.time() - t0) / 25:.2f}s/step {time.strftime('%H:%M:%S')}", flush=True)
                t0 = time.time()
            if step % 100 == 0 or done:
                save(CKPT)
            if step % args.eval_every == 0 or done:
                w, ex = evaluate(model, heldout)
                save(os.path.join(WORK, f"stream-step{step}.pt"))
                print(f"step {step} held-out greedy WER (chunked, {len(ex)}) {w * 100:.1f}%  e.g. {ex[0]}", flush=True)
            if done:
                break


if __name__ == "__main__":
    main()
