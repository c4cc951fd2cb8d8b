"""Trains the demo CTC model on the synthesised features; resumable.

usage: train.py [--steps N | --seconds S] [--resume] [--regularize 0|1]
                [--device cpu|cuda] [--batch-frames F] [--eval-every N]
       train.py --eval
Checkpoints go to work/ckpt.pt every 200 steps and at the end; a run started
with --resume continues from the last one (optimizer and step included),
or, on a machine without one, from the weights export.py keeps in
checkpoint.pt (committed, so training can go on in a later session).
The learning rate warms up over each run's first 400 steps, then follows a
cosine to 1% over --steps, or over --seconds of wall time (a run on a lent
machine that must end by a deadline). Held-out WER (greedy) is printed every
--eval-every steps. Shards that synth.py adds while training runs are loaded
at the next epoch, so synthesis and training can run side by side.
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

import fbank
import shards
import wer
from model import DemoCtc, TOKENS, load_weights, text_to_ids, SUBSAMPLING

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
COMMITTED_CKPT = os.path.join(HERE, "checkpoint.pt")
WARMUP_STEPS = 400


def warn_if_slow_blas():
    """Debian's python3-torch multiplies matrices through whichever libblas.so.3
    is selected; the reference one (no OpenBLAS installed) runs them at ~5
    GFLOP/s against OpenBLAS's ~70 on 2 cores, and a CPU training step of
    16,000 frames takes ~10 s against ~2 s."""
    a = torch.randn(512, 512)
    started = time.time()
    for _ in range(4):
        a @ a
    gflops = 4 * 2 * 512**3 / (time.time() - started) / 1e9
    if gflops < 15:
        print(f"warning: matrix products run at {gflops:.0f} GFLOP/s, a reference BLAS; "
              "apt-get install libopenblas0-openmp makes CPU training ~5x faster", flush=True)


def shard_paths():
    return sorted(glob.glob(os.path.join(WORK, "feats", "shard[0-9][0-9][0-9][0-9].npz")))


def spec_augment(x, rng):
    x = x.copy()
    t = x.shape[0]
    for _ in range(2):
        w = rng.randint(0, 12)
        f0 = rng.randint(0, 80 - w)
        x[:, f0 : f0 + w] = 0
    for _ in range(max(1, t // 300)):
        w = rng.randint(0, 30)
        t0 = rng.randint(0, max(1, t - w))
        x[t0 : t0 + w] = 0
    return x


def batches(lengths, rng, max_frames):
    """Utterance indices in batches of at most `max_frames` padded frames, of
    similar lengths, in random order. Shared with train_streaming.py."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i] + rng.random() * 40)
    out, cur, cur_max = [], [], 0
    for i in order:
        m = max(cur_max, lengths[i])
        if cur and m * (len(cur) + 1) > max_frames:
            out.append(cur)
            cur, m = [], lengths[i]
        cur.append(i)
        cur_max = m
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(idx, feats, texts, rng, augment, device):
    xs = [spec_augment(feats[i], rng) if augment else feats[i] for i in idx]
    t = max(len(x) for x in xs)
    x = np.zeros((len(xs), 80, t), np.float32)
    for j, f in enumerate(xs):
        x[j, :, : len(f)] = f.T
    ys = [text_to_ids(texts[i]) for i in idx]
    return (torch.from_numpy(x).to(device), torch.tensor([len(f) for f in xs], device=device),
            torch.tensor([c for y in ys for c in y], device=device), torch.tensor([len(y) for y in ys], device=device))


def greedy(logp, n):
    ids = logp[:n].argmax(-1).tolist()
    out, prev = [], 0
    for i in ids:
        if i != prev and i != 0:
            out.append(TOKENS[i])
        prev = i
    return "".join(out).replace("▁", " ").strip()


def evaluate(model, heldout, device):
    model.eval()
    hyps, refs = [], []
    with torch.no_grad():
        for feats, text in heldout:
            x = torch.from_numpy(feats.T[None].copy()).to(device)
            logp, out_len = model(x, torch.tensor([feats.shape[0]], device=device))
            hyps.append(greedy(logp[0].cpu(), feats.shape[0] // SUBSAMPLING))
            refs.append(text)
    model.train()
    return wer.corpus_wer(refs, hyps), list(zip(refs, hyps))[:3]


def load_heldout(limit=150):
    """The held-out set's features, computed once from synth.py's wavs and
    cached in work/heldout-feats.npz (so they can travel without the audio)."""
    cache = os.path.join(WORK, "heldout-feats.npz")
    if not os.path.exists(cache):
        path = os.path.join(WORK, "heldout.jsonl")
        if not os.path.exists(path):
            return []
        import synth
        with open(path) as f:
            items = [json.loads(line) for line in f]
        shards.write_shard(cache, [fbank.features(synth.read_wav(os.path.join(WORK, it["wav"]))) for it in items],
                           [it["text"] for it in items])
    feats, texts = shards.read_shard(cache)
    return list(zip(feats, texts))[:limit]  # limit None: all


def lr_factor(steps_this_run, progress):
    warm = min(1.0, (steps_this_run + 1) / WARMUP_STEPS)
    return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) + 0.01


def ctc_step(model, opt, ctc, lr, x, xl, y, yl):
    """One optimiser step of CTC training at learning rate `lr`, gradients
    clipped at norm 5; returns the batch's loss. Shared with train_streaming.py."""
    for g in opt.param_groups:
        g["lr"] = lr
    logp, out_len = model(x, xl)
    loss = ctc(logp.transpose(0, 1), y, out_len, yl)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--seconds", type=float, default=0, help="train for this much wall time instead of --steps")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--regularize", type=int, default=1, help="0: no SpecAugment and no dropout (faster fitting)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-frames", type=int, default=4000, help="input frames per batch, padding included")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval", action="store_true", help="only print the checkpoint's greedy WER on every held-out utterance")
    # Sizes of a new model (a resumed one keeps its own); unset ones take DemoCtc's defaults.
    ap.add_argument("--d", type=int, help="convolution channels")
    ap.add_argument("--hidden", type=int, help="GRU units per direction")
    ap.add_argument("--gru-layers", type=int, help="bidirectional GRU layers")
    args = ap.parse_args()
    torch.set_num_threads(2)
    device = torch.device(args.device)
    if device.type == "cpu":
        warn_if_slow_blas()
    if args.eval:
        state = torch.load(os.path.join(WORK, "ckpt.pt"), map_location="cpu", weights_only=False)
        model = DemoCtc(**state.get("size", {}))
        load_weights(model, state["model"])
        w, examples = evaluate(model.to(device), load_heldout(limit=None), device)
        print(f"step {state['step']}: held-out WER {w * 100:.1f}%")
        for ref, hyp in examples:
            print(f"  ref: {ref}\n  hyp: {hyp}")
        return
    torch.manual_seed(0)
    rng = random.Random(0)
    feats, texts, loaded = [], [], set()

    def load_new_shards():
        new = [p for p in shard_paths() if p not in loaded]
        for p in new:
            f, t = shards.read_shard(p)
            feats.extend(f)
            texts.extend(t)
            loaded.add(p)
        if new:
            print(f"{len(feats)} utterances, {sum(len(f) for f in feats) / 360000:.2f} h", flush=True)

    load_new_shards()
    heldout = load_heldout()
    step, opt_state, state = 0, None, None
    ckpt = os.path.join(WORK, "ckpt.pt")
    if args.resume and not os.path.exists(ckpt) and os.path.exists(COMMITTED_CKPT):
        # A fresh machine: go on from the weights export.py committed (the optimizer starts afresh).
        state = torch.load(COMMITTED_CKPT, map_location="cpu", weights_only=False)
        step = state["step"]
        print(f"resumed from {COMMITTED_CKPT} at step {step} (fresh optimizer)", flush=True)
    elif args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        opt_state, step = state["opt"], state["step"]
        rng.setstate(state["rng"])
        print(f"resumed at step {step}", flush=True)
    # Checkpoints from before sizes were recorded are all the default size.
    given = {"d": args.d, "hidden": args.hidden, "gru_layers": args.gru_layers}
    size = state.get("size", {}) if state else {k: v for k, v in given.items() if v is not None}
    model = DemoCtc(**size, dropout=0.1 if args.regularize else 0.0)
    if state:
        load_weights(model, state["model"])
    print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters {size or '(default size)'}", flush=True)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-3)
    if opt_state:
        opt.load_state_dict(opt_state)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    first_step, started = step, time.time()

    def progress():
        return (time.time() - started) / args.seconds if args.seconds else step / args.steps

    def save():
        torch.save({"model": model.state_dict(), "size": size, "opt": opt.state_dict(), "step": step, "rng": rng.getstate()}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    t0, losses = time.time(), []
    model.train()
    while progress() < 1:
        load_new_shards()
        for idx in batches([len(f) for f in feats], rng, args.batch_frames):
            x, xl, y, yl = collate(idx, feats, texts, rng, bool(args.regularize), device)
            losses.append(ctc_step(model, opt, ctc, args.lr * lr_factor(step - first_step, progress()), x, xl, y, yl))
            step += 1
            done = progress() >= 1
            if step % 25 == 0:
                print(f"step {step} loss {np.mean(losses[-25:]):.3f} lr {opt.param_groups[0]['lr']:.2e} "
                      f"{(time.time() - t0) / 25:.3f}s/step", flush=True)
                t0 = time.time()
            if step % 200 == 0 or done:
                save()
            if heldout and (step % args.eval_every == 0 or done):
                w, ex = evaluate(model, heldout, device)
                print(f"step {step} heldout WER {w * 100:.1f}%  e.g. {ex[0]}", flush=True)
            if done:
                break


if __name__ == "__main__":
    main()
