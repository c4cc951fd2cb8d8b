"""Trains the demo CTC model on the synthesised features; resumable.

usage: train.py [--steps N] [--resume] [--regularize 0|1] | train.py --eval
Checkpoints go to work/ckpt.pt every 200 steps and at the end; a run started
with --resume continues from the last one (optimizer and schedule included),
or, on a machine without one, from the weights export.py keeps in
checkpoint.pt (committed, so training can go on in a later session).
Held-out WER (greedy) is printed every 500 steps. Shards that synth.py adds
while training runs are picked up at the next epoch.
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
import wer
from model import DemoCtc, TOKENS, load_weights, text_to_ids, SUBSAMPLING

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
MAX_BATCH_FRAMES = 4000
COMMITTED_CKPT = os.path.join(HERE, "checkpoint.pt")


def load_shards():
    feats, texts = [], []
    for path in sorted(glob.glob(os.path.join(WORK, "feats", "shard[0-9][0-9][0-9][0-9].npz"))):
        z = np.load(path)
        all_feats, lengths = z["feats"], z["lengths"]  # NpzFile re-reads on every access
        offs = np.concatenate([[0], np.cumsum(lengths)])
        for i, t in enumerate(z["texts"]):
            feats.append(all_feats[offs[i] : offs[i + 1]])
            texts.append(str(t))
    return feats, texts


def normalise(f):
    f = f.astype(np.float32)
    m = f.mean(0, keepdims=True)
    s = np.sqrt(np.maximum((f ** 2).mean(0, keepdims=True) - m ** 2, 0)) + 1e-5
    return (f - m) / s


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


def batches(lengths, rng):
    order = sorted(range(len(lengths)), key=lambda i: lengths[i] + rng.random() * 40)
    out, cur, cur_max = [], [], 0
    for i in order:
        m = max(cur_max, lengths[i])
        if cur and m * (len(cur) + 1) > MAX_BATCH_FRAMES:
            out.append(cur)
            cur, m = [], lengths[i]
        cur.append(i)
        cur_max = m
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(idx, feats, texts, rng, augment):
    xs = [normalise(feats[i]) for i in idx]
    if augment:
        xs = [spec_augment(x, rng) for x in xs]
    t = max(len(x) for x in xs)
    x = np.zeros((len(xs), 80, t), np.float32)
    for j, f in enumerate(xs):
        x[j, :, : len(f)] = f.T
    ys = [text_to_ids(texts[i]) for i in idx]
    return (torch.from_numpy(x), torch.tensor([len(f) for f in xs]),
            torch.tensor([c for y in ys for c in y]), torch.tensor([len(y) for y in ys]))


def greedy(logp, n):
    ids = logp[:n].argmax(-1).tolist()
    out, prev = [], 0
    for i in ids:
        if i != prev and i != 0:
            out.append(TOKENS[i])
        prev = i
    return "".join(out).replace("▁", " ").strip()


def evaluate(model, heldout):
    model.eval()
    hyps, refs = [], []
    with torch.no_grad():
        for feats, text in heldout:
            x = torch.from_numpy(feats.T[None].copy())
            logp, out_len = model(x, torch.tensor([feats.shape[0]]))
            hyps.append(greedy(logp[0], feats.shape[0] // SUBSAMPLING))
            refs.append(text)
    model.train()
    return wer.corpus_wer(refs, hyps), list(zip(refs, hyps))[:3]


def load_heldout(limit=150):
    items = []
    path = os.path.join(WORK, "heldout.jsonl")
    if not os.path.exists(path):
        return items
    import synth
    with open(path) as f:
        for line in list(f)[:limit]:  # limit None: all
            it = json.loads(line)
            items.append((fbank.features(synth.read_wav(os.path.join(WORK, it["wav"]))), it["text"]))
    return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--regularize", type=int, default=1, help="0: no SpecAugment and no dropout (faster fitting)")
    ap.add_argument("--eval", action="store_true", help="only print the checkpoint's greedy WER on every held-out utterance")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.eval:
        model = DemoCtc()
        state = torch.load(os.path.join(WORK, "ckpt.pt"))
        load_weights(model, state["model"])
        w, examples = evaluate(model, load_heldout(limit=None))
        print(f"step {state['step']}: held-out WER {w * 100:.1f}%")
        for ref, hyp in examples:
            print(f"  ref: {ref}\n  hyp: {hyp}")
        return
    torch.manual_seed(0)
    rng = random.Random(0)
    n_shards = len(glob.glob(os.path.join(WORK, "feats", "shard[0-9][0-9][0-9][0-9].npz")))
    feats, texts = load_shards()
    print(f"{len(feats)} utterances, {sum(len(f) for f in feats) / 360000:.2f} h", flush=True)
    heldout = load_heldout()
    model = DemoCtc(dropout=0.1 if args.regularize else 0.0)
    print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-3)
    warmup = 400
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))) + 0.01)
    step = 0
    ckpt = os.path.join(WORK, "ckpt.pt")
    if args.resume and not os.path.exists(ckpt) and os.path.exists(COMMITTED_CKPT):
        # A fresh machine: go on from the weights export.py committed (the optimizer starts afresh).
        state = torch.load(COMMITTED_CKPT)
        load_weights(model, state["model"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        print(f"resumed from {COMMITTED_CKPT} at step {step} (fresh optimizer)", flush=True)
    elif args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt)
        load_weights(model, state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        rng.setstate(state["rng"])
        print(f"resumed at step {step}", flush=True)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    lengths = [len(f) for f in feats]
    t0, losses = time.time(), []
    model.train()
    while step < args.steps:
        if len(glob.glob(os.path.join(WORK, "feats", "shard[0-9][0-9][0-9][0-9].npz"))) != n_shards:  # synth.py still adding shards
            feats, texts = load_shards()
            lengths, n_shards = [len(f) for f in feats], len(glob.glob(os.path.join(WORK, "feats", "shard[0-9][0-9][0-9][0-9].npz")))
            print(f"now {len(feats)} utterances, {sum(lengths) / 360000:.2f} h", flush=True)
        for idx in batches(lengths, rng):
            x, xl, y, yl = collate(idx, feats, texts, rng, augment=bool(args.regularize))
            logp, out_len = model(x, xl)
            loss = ctc(logp.transpose(0, 1), y, out_len, yl)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
            if step % 25 == 0:
                print(f"step {step} loss {np.mean(losses[-25:]):.3f} lr {sched.get_last_lr()[0]:.2e} {(time.time() - t0) / 25:.2f}s/step", flush=True)
                t0 = time.time()
            if step % 200 == 0 or step >= args.steps:
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "step": step, "rng": rng.getstate()}, ckpt + ".tmp")
                os.replace(ckpt + ".tmp", ckpt)
            if heldout and (step % 500 == 0 or step >= args.steps):
                w, ex = evaluate(model, heldout)
                print(f"step {step} heldout WER {w * 100:.1f}%  e.g. {ex[0]}", flush=True)
            if step >= args.steps:
                break


if __name__ == "__main__":
    main()
