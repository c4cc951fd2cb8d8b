"""Builds the demo model's n-gram language models (ARPA) from the training
sentences of corpus.py (never the held-out ones): by default over the model's
own tokens (characters, with '▁' between words); with --words over words,
whose 1-grams also hold every word of Debian's word list (add-delta smoothed),
so the decoder can use the word LM's vocabulary as its lexicon.

Interpolated absolute discounting; n-grams of order 3 and up seen fewer than
--min-count times are pruned, and every backoff weight is recomputed after
pruning so each context's distribution still sums to one.

usage: lm.py [--order N] [--min-count C] [OUT]   (default models/demo-en-ctc/lm.arpa.gz)
       lm.py --words [--order N] [--min-count C] [OUT]   (default models/demo-en-ctc/words.arpa.gz)
OUT is gzipped when it ends in .gz, with no time stamp, so the file is reproducible.
"""
import argparse
import collections
import gzip
import io
import math
import os

import corpus

HERE = os.path.dirname(os.path.abspath(__file__))
DISCOUNT = 0.75


# Pseudo-count of every word-list word in the word LM's 1-grams: unseen words
# stay possible (names, rare words) at about a tenth of a word seen once.
LEXICON_DELTA = 0.1


def sentences_as_tokens(words):
    train, _ = corpus.build()
    for s in train:
        yield ["<s>"] + (s.split() if words else ["▁" if c == " " else c for c in s]) + ["</s>"]


def word_list():
    """Debian's American English word list, normalised like the corpus; one-word entries only."""
    with open(os.path.join(corpus.ROOT, "usr/share/dict/american-english"), encoding="utf-8") as f:
        normalised = (corpus.normalise(w) for w in f)
        return sorted({w for w in normalised if w and " " not in w})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", action="store_true", help="a word LM (default: over the model's tokens)")
    ap.add_argument("--order", type=int, help="default 6 for tokens, 3 for words")
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("out", nargs="?")
    args = ap.parse_args()
    n = args.order or (3 if args.words else 6)
    out_name = args.out or os.path.join(HERE, "..", "..", "models", "demo-en-ctc", "words.arpa.gz" if args.words else "lm.arpa.gz")
    counts = [collections.Counter() for _ in range(n + 1)]  # counts[k][tuple of k tokens]
    for toks in sentences_as_tokens(args.words):
        for k in range(1, n + 1):
            for i in range(len(toks) - k + 1):
                counts[k][tuple(toks[i : i + k])] += 1
    counts[1][("<s>",)] = 0  # a context only, never predicted
    # Per-context totals and number of distinct followers.
    ctx_total = [collections.Counter() for _ in range(n + 1)]
    ctx_types = [collections.Counter() for _ in range(n + 1)]
    for k in range(2, n + 1):
        for g, c in counts[k].items():
            ctx_total[k][g[:-1]] += c
            ctx_types[k][g[:-1]] += 1
    vocab = [g[0] for g in counts[1] if g[0] != "<s>"]
    if args.words:
        for w in word_list():
            counts[1][(w,)] += LEXICON_DELTA
    total1 = sum(counts[1].values())
    prob = [dict() for _ in range(n + 1)]
    prob[1] = {g: (c / total1 if c else 0.0) for g, c in counts[1].items()}

    def interp(g):
        """The unpruned interpolated probability of g's last token after g[:-1]."""
        k = len(g)
        if k == 1:
            return prob[1].get(g, 0.0)
        if g in prob[k]:
            return prob[k][g]
        h = g[:-1]
        lower = interp(g[1:])
        if h not in ctx_total[k]:
            return lower
        return DISCOUNT * ctx_types[k][h] / ctx_total[k][h] * lower

    for k in range(2, n + 1):
        for g, c in counts[k].items():
            h = g[:-1]
            prob[k][g] = max(c - DISCOUNT, 0) / ctx_total[k][h] + DISCOUNT * ctx_types[k][h] / ctx_total[k][h] * interp(g[1:])
        if k >= 3:
            prob[k] = {g: p for g, p in prob[k].items() if counts[k][g] >= args.min_count}

    def stored_or_backoff(g, bows):
        k = len(g)
        if k == 1 or g in prob[k]:
            return prob[k][g] if k > 1 else prob[1][g]
        return bows.get(g[:-1], 1.0) * stored_or_backoff(g[1:], bows)

    bows = {}
    for k in range(2, n + 1):  # backoff weight of every context kept at order k-1
        followers = collections.defaultdict(list)
        for g in prob[k]:
            followers[g[:-1]].append(g)
        for h, gs in followers.items():
            seen = sum(prob[k][g] for g in gs)
            seen_lower = sum(stored_or_backoff(g[1:], bows) for g in gs)
            bows[h] = max(1.0 - seen, 1e-12) / max(1.0 - seen_lower, 1e-12)
    with open(out_name, "wb") as out:
        raw = gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) if out_name.endswith(".gz") else out
        with io.TextIOWrapper(raw, encoding="utf-8") as f:
            f.write("\\data\\\n")
            for k in range(1, n + 1):
                f.write(f"ngram {k}={len(prob[k])}\n")
            for k in range(1, n + 1):
                f.write(f"\n\\{k}-grams:\n")
                for g in sorted(prob[k]):
                    p = prob[k][g]
                    lp = math.log10(p) if p > 0 else -99.0
                    line = f"{lp:.4f}\t{' '.join(g)}"
                    if k < n and g in bows:
                        line += f"\t{math.log10(bows[g]):.4f}"
                    f.write(line + "\n")
            f.write("\n\\end\\\n")
    print(f"{out_name}: order {n}, " + ", ".join(f"{len(prob[k])} {k}-grams" for k in range(1, n + 1)) +
          f", {os.path.getsize(out_name) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
