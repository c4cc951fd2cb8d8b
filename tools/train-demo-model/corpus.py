"""Builds the English text corpus for the demo model from text that ships with
Debian (fortunes, licence texts, word list), never from a download.

Every sentence is normalised to what the model can emit: lower-case a-z,
apostrophe and single spaces, numbers, dates and times written out as words.
Sentences are split into train / held-out by a stable hash, so a held-out
sentence never appears in training. CORPUS_ROOT (default /) is where those
Debian files are looked for, so a machine without the packages can use a copy.
"""
import glob
import hashlib
import json
import os
import random
import re
import sys

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ROOT = os.environ.get("CORPUS_ROOT", "/")
MONTHS = "january february march april may june july august september october november december".split()
ORDINAL_FIX = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def number_words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else (" and " if rest < 100 else " ") + number_words(rest))
    return " ".join(ONES[int(d)] for d in str(n))


def ordinal_words(n):
    words = number_words(n).split()
    last = words[-1]
    if last in ORDINAL_FIX:
        words[-1] = ORDINAL_FIX[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_words(y):
    if 2000 <= y < 2010:
        return number_words(y)
    if 1100 <= y < 2100:
        hi, lo = divmod(y, 100)
        return number_words(hi) + (" hundred" if lo == 0 else (" oh " + ONES[lo] if lo < 10 else " " + number_words(lo)))
    return number_words(y)


def expand_numbers(text):
    text = re.sub(r"\b(1[1-9]\d\d|20\d\d)\b", lambda m: year_words(int(m.group(1))), text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m.group(1))), text)
    text = re.sub(r"\b(\d{1,6})\b", lambda m: number_words(int(m.group(1))), text)
    return text


def normalise(text):
    text = expand_numbers(text)
    text = text.lower().replace("&", " and ").replace("%", " percent ")
    text = re.sub(r"[’`]", "'", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    text = re.sub(r"(^| )'+|'+( |$)", " ", text)
    return re.sub(r" +", " ", text).strip()


def raw_sentences():
    chunks = []
    for path in sorted(glob.glob(os.path.join(ROOT, "usr/share/games/fortunes/*"))):
        if path.endswith((".dat", ".u8")) or "/off/" in path:
            continue
        with open(path, encoding="latin-1") as f:
            chunks += f.read().split("\n%\n")
    for path in sorted(glob.glob(os.path.join(ROOT, "usr/share/common-licenses/*"))):
        with open(path, encoding="latin-1") as f:
            chunks.append(f.read())
    for chunk in chunks:
        if re.search(r"https?:|www\.|@|[<>{}|\\_=#]", chunk):
            continue
        flat = re.sub(r"\s+", " ", chunk)
        for s in re.split(r"(?<=[.!?;:])\s+", flat):
            yield s


def templated_sentences(rng, names, count):
    """Numbers, dates, times and names written out, which prose rarely has."""
    out = []
    for _ in range(count):
        name, other = rng.choice(names), rng.choice(names)
        day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(1890, 2030)
        hour, minute = rng.randint(1, 12), rng.choice([0, 5, 10, 15, 20, 30, 45, 50])
        n = rng.choice([rng.randint(2, 99), rng.randint(100, 999), rng.randint(1000, 99999)])
        t = rng.choice([
            f"{name} was born on the {ordinal_words(day)} of {month} {year_words(year)}",
            f"please call {name} at {number_words(hour)} {'o clock' if minute == 0 else number_words(minute)} tomorrow",
            f"the meeting with {name} and {other} moved to {month} {ordinal_words(day)}",
            f"we counted {number_words(n)} people at the station",
            f"{name} paid {number_words(n)} dollars for the old car",
            f"the train leaves at {number_words(hour)} {number_words(minute) if minute else 'o clock'} from platform {number_words(rng.randint(1, 12))}",
            f"send the report to {name} before {month} {ordinal_words(day)}",
            f"room {number_words(rng.randint(100, 999))} is on the {ordinal_words(rng.randint(1, 20))} floor",
        ])
        out.append(normalise(t))
    return out


def is_heldout(sentence):
    return int(hashlib.sha1(sentence.encode()).hexdigest(), 16) % 20 == 0


def build(seed=1):
    rng = random.Random(seed)
    with open(os.path.join(ROOT, "usr/share/dict/american-english"), encoding="utf-8") as f:
        words = [w.strip() for w in f]
    names = sorted({w.lower() for w in words if re.fullmatch(r"[A-Z][a-z]{2,8}", w)})
    seen, out = set(), []
    for s in raw_sentences():
        n = normalise(s)
        nw = len(n.split())
        if 4 <= nw <= 22 and n not in seen and len(n) <= 140:
            seen.add(n)
            out.append(n)
    out += templated_sentences(rng, names, 3000)
    out = sorted(set(out))
    rng.shuffle(out)
    train = [s for s in out if not is_heldout(s)]
    heldout = [s for s in out if is_heldout(s)]
    return train, heldout


if __name__ == "__main__":
    train, heldout = build()
    json.dump({"train": train, "heldout": heldout}, sys.stdout)
    print(f"train {len(train)} heldout {len(heldout)}", file=sys.stderr)
