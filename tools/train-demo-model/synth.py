"""Synthesises the demo model's training and held-out speech with Debian's TTS
voices, augments it, and stores features (training) or audio (held-out).

Voices: espeak-ng English dialects x voice variants, flite's voices (half of
them at a random mean pitch) and festival's kal_diphone / ked_diphone /
us_slt_hts. Whole voices are held out: the held-out variants and dialects
below never occur in training, nor does flite's 'rms'.
Augmentation: random speaking rate and pitch, gain, additive noise at random
SNR, optional reverb, random leading / trailing silence, and for a fifth of
the training speech an 8 kHz G.711 phone line (mu-law or A-law).

usage: synth.py train N SHARD_SIZE [FIRST] | synth.py heldout N |
       synth.py heldout-texts N | synth.py check
`heldout-texts` draws N held-out sentences from the corpus into the committed
heldout-texts.txt; `heldout` speaks the first N of them, so the held-out set
can be remade (by tests/heldout-set.test.ts too) on a machine without the
corpus's Debian packages. Output goes to work/ (SYNTH_WORK overrides).
Training speech is one fixed stream of utterances (utterance i always comes
from seed i); FIRST (a multiple of SHARD_SIZE) starts N utterances into it, so
a run can go on with speech a checkpoint has never heard.
SYNTH_FEATURES=kaldi makes training shards for the streaming model instead:
kaldi_fbank.py's raw log-mel (what sherpa-onnx computes for online models)
and, beside it, fbank.py's NeMo features of the same audio, both float16, in
work/feats-kaldi/ (shards.write_shard_f16).
Runs one worker per core (SYNTH_WORKERS overrides). SYNTH_SHARES="E,F" sets
the shares of training utterances spoken by espeak-ng and flite (festival
gets the rest; default 0.72,0.22). A machine without
festival gives festival's share of the training voices to flite. `check`
speaks through every training voice and sox once and exits 1 naming any that
fail: training drops a failing voice's utterances without a word.
"""
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave

# One worker per core already: numpy's BLAS threads on top of that contend for
# the same cores (12 workers on a 16-core machine made 31 utterances/s with
# OpenBLAS's default threads and 165 with one each). Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

import corpus
import fbank
import kaldi_fbank
import shards

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ.get("SYNTH_WORK", os.path.join(HERE, "work"))
HELDOUT_TEXTS = os.path.join(HERE, "heldout-texts.txt")

ESPEAK_DIALECTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-us-nyc"]
HELDOUT_DIALECTS = ["en-029"]
ESPEAK_VARIANTS = """m1 m2 m3 m4 m6 m7 m8 f1 f2 f3 f5 adam Alex Alicia Andrea Andy antonio aunty belinda benjamin boris
caleb david Denis Diogo ed edward2 Gene Gene2 gustave announcer Henrique Hugo iven iven2 iven3 iven4 Jacky john
Lee linda marcelo Marco Mario max Michael michel miguel Mike Mr Nguyen pablo paul pedro quincy rob robert
steph steph2 steph3 travis victor klatt klatt2 klatt4 klatt5 klatt6 norbert sandro shelby zac anika grandpa
grandma""".split()
HELDOUT_VARIANTS = ["f4", "m5", "Annie", "edward", "klatt3"]
FLITE_TRAIN = ["kal", "kal16", "awb", "slt"]
FLITE_HELDOUT = ["rms"]
FESTIVAL = ["(voice_kal_diphone)", "(voice_ked_diphone)", "(voice_cmu_us_slt_arctic_hts)"]
HAVE_FESTIVAL = shutil.which("text2wave") is not None
WORKERS = int(os.environ.get("SYNTH_WORKERS", os.cpu_count()))
FEATURES = os.environ.get("SYNTH_FEATURES", "nemo")  # "kaldi": streaming model's shards


def engine_shares(spec):
    """SYNTH_SHARES "E,F" -> (espeak share, flite share). The default makes the
    stream the shipped model learnt from; other shares change which voice
    speaks utterance i, not its sentence, so a run still starts past the
    utterances used before (FIRST)."""
    try:
        espeak, flite = (float(x) for x in spec.split(","))
        valid = espeak >= 0 and flite >= 0 and espeak + flite <= 1  # false for nan too
    except ValueError:
        valid = False
    if not valid:
        sys.exit(f'SYNTH_SHARES="{spec}": want two shares "espeak,flite", each >= 0, summing to at most 1')
    return espeak, flite


ESPEAK_SHARE, FLITE_SHARE = engine_shares(os.environ.get("SYNTH_SHARES", "0.72,0.22"))


def train_voice(rng):
    r = rng.random()
    if r < ESPEAK_SHARE:
        return ("espeak", f"{rng.choice(ESPEAK_DIALECTS)}+{rng.choice(ESPEAK_VARIANTS)}")
    if r < ESPEAK_SHARE + FLITE_SHARE or not HAVE_FESTIVAL:
        return ("flite", rng.choice(FLITE_TRAIN))
    return ("festival", rng.choice(FESTIVAL))


def heldout_voice(rng):
    if rng.random() < 0.2:
        return ("flite", rng.choice(FLITE_HELDOUT))
    dialect = rng.choice(ESPEAK_DIALECTS + HELDOUT_DIALECTS)
    return ("espeak", f"{dialect}+{rng.choice(HELDOUT_VARIANTS)}")


def tts(engine, voice, text, out_path, rng, augment):
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", voice, "-s", str(rng.randint(135, 205)), "-p", str(rng.randint(25, 75)), "-w", out_path, text]
        subprocess.run(cmd, check=True, capture_output=True)
    elif engine == "flite":
        settings = [f"duration_stretch={rng.uniform(0.85, 1.2):.2f}"]
        # Flite has four training voices; moving their mean pitch spreads them
        # over more speakers. Drawn only when augmenting, so the held-out set
        # (same seeds) stays the same speech.
        if augment and rng.random() < 0.5:
            settings.append(f"int_f0_target_mean={rng.randint(80, 230)}")
        cmd = ["flite", "-voice", voice] + [a for s in settings for a in ("--setf", s)] + ["-t", text, "-o", out_path]
        subprocess.run(cmd, check=True, capture_output=True)
    else:
        subprocess.run(["text2wave", "-eval", voice, "-o", out_path], input=text.encode(), check=True, capture_output=True)


def sox_16k(in_path, out_path, rng, augment):
    effects = []
    if augment:
        if rng.random() < 0.4:
            effects += ["pitch", str(rng.randint(-250, 250))]
        if rng.random() < 0.3:
            effects += ["tempo", f"{rng.uniform(0.85, 1.15):.3f}"]
        if rng.random() < 0.3:
            effects += ["reverb", str(rng.randint(10, 60)), "50", str(rng.randint(20, 100))]
        if rng.random() < 0.2:
            effects += ["lowpass", str(rng.randint(3400, 7000))]
        if rng.random() < 0.15:
            effects += ["highpass", str(rng.randint(80, 300))]
    subprocess.run(["sox", in_path, "-r", "16000", "-c", "1", "-b", "16", out_path] + effects + ["rate", "16000"], check=True, capture_output=True)


def read_wav(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def write_wav(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())


def finish(samples, rng, augment):
    """Gain, silence padding and noise."""
    peak = np.max(np.abs(samples)) + 1e-9
    samples = samples / peak * (10 ** (rng.uniform(-20, -1) / 20) if augment else 0.7)
    lead = np.zeros(int(16000 * rng.uniform(0.05, 0.5)), np.float32)
    tail = np.zeros(int(16000 * rng.uniform(0.05, 0.5)), np.float32)
    samples = np.concatenate([lead, samples, tail])
    if augment and rng.random() < 0.7:
        power = np.mean(samples ** 2) + 1e-12
        snr_db = rng.uniform(5, 40)
        noise = np.random.default_rng(rng.randint(0, 2**31)).standard_normal(len(samples)).astype(np.float32)
        if rng.random() < 0.5:  # brown-ish noise
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(400) / 400, mode="same")
        noise *= np.sqrt(power / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr_db / 10))
        samples = samples + noise
    if augment and rng.random() < 0.2:
        samples = telephone(samples, mu_law=rng.random() < 0.5)
    return samples.astype(np.float32)


def telephone(samples, mu_law):
    """A G.711 phone line: band-limited to 4 kHz, 8 kHz, 8-bit mu-law or
    A-law companding, then back to 16 kHz as the server's decoder hands it on."""
    n = len(samples) // 2 * 2
    spec = np.fft.rfft(samples[:n])
    spec[n // 4 :] = 0
    narrow = np.clip(np.fft.irfft(spec, n)[::2], -1, 1)
    mag = np.abs(narrow)
    quantise = lambda y: np.round(y * 127) / 127  # 8 bits: sign + 7
    if mu_law:
        mag = np.expm1(quantise(np.log1p(255 * mag) / np.log(256)) * np.log(256)) / 255
    else:
        a, knee = 87.6, 1 / (1 + np.log(87.6))
        y = quantise(np.where(mag < 1 / a, a * mag, 1 + np.log(np.maximum(a * mag, 1))) * knee)
        mag = np.where(y < knee, y / knee / a, np.exp(y / knee - 1) / a)
    narrow = np.sign(narrow) * mag
    return np.fft.irfft(np.fft.rfft(narrow), n) * 2


def make_one(args):
    seed, text, heldout = args
    rng = random.Random(seed)
    engine, voice = heldout_voice(rng) if heldout else train_voice(rng)
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "16k.wav")
        try:
            tts(engine, voice, text, raw, rng, augment=not heldout)
            sox_16k(raw, out, rng, augment=not heldout)
            samples = read_wav(out)
        except subprocess.CalledProcessError:
            return None
    if len(samples) < 1600:
        return None
    samples = finish(samples, rng, augment=not heldout)
    if heldout:
        return {"text": text, "engine": engine, "voice": voice, "samples": samples}
    if FEATURES == "kaldi":
        return {"text": text, "feats": kaldi_fbank.features(samples), "feats_nemo": fbank.features(samples),
                "seconds": len(samples) / 16000}
    return {"text": text, "feats": fbank.features(samples), "seconds": len(samples) / 16000}


def failing_voices():
    """The training voices (each flite and festival voice, one espeak one) that
    cannot speak a short sentence and go through sox here."""
    voices = [("espeak", "en-us+m3")] + [("flite", v) for v in FLITE_TRAIN] + [("festival", v) for v in FESTIVAL]
    rng = random.Random(0)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "16k.wav")
        for engine, voice in voices:
            try:
                tts(engine, voice, "voice check", raw, rng, augment=True)
                sox_16k(raw, out, rng, augment=True)
            except (subprocess.CalledProcessError, FileNotFoundError):
                failed.append(f"{engine} {voice}")
    return failed


def main():
    if sys.argv[1] == "check":
        failed = failing_voices()
        print(f"voices failing: {', '.join(failed)}" if failed else "voices ok")
        sys.exit(1 if failed else 0)
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == "heldout-texts":
        with open(HELDOUT_TEXTS, "w") as f:
            f.writelines(t + "\n" for t in random.Random(7).sample(corpus.build()[1], n))
        return
    os.makedirs(WORK, exist_ok=True)
    if mode == "heldout":
        with open(HELDOUT_TEXTS) as f:
            texts = f.read().splitlines()[:n]
        outdir = os.path.join(WORK, "heldout")
        os.makedirs(outdir, exist_ok=True)
        items = []
        with mp.Pool(WORKERS) as pool:
            for i, r in enumerate(pool.imap(make_one, [(100000 + i, t, True) for i, t in enumerate(texts)])):
                if r is None:
                    continue
                path = os.path.join(outdir, f"{i:05d}.wav")
                write_wav(path, r["samples"])
                items.append({"wav": os.path.relpath(path, WORK), "text": r["text"], "engine": r["engine"], "voice": r["voice"]})
        with open(os.path.join(WORK, "heldout.jsonl"), "w") as f:
            for it in items:
                f.write(json.dumps(it) + "\n")
        print(f"heldout: {len(items)} utterances")
        return
    train = corpus.build()[0]
    shard_size = int(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    assert first % shard_size == 0, "the first utterance must start a shard"
    outdir = os.path.join(WORK, "feats-kaldi" if FEATURES == "kaldi" else "feats")
    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(1234)
    jobs = [(i, rng.choice(train), False) for i in range(first + n)]
    with mp.Pool(WORKERS) as pool:
        for s in range(first, first + n, shard_size):
            path = os.path.join(outdir, f"shard{s // shard_size:04d}.npz")
            if os.path.exists(path):
                continue  # resumable
            feats, feats_nemo, texts, seconds = [], [], [], 0.0
            for r in pool.imap(make_one, jobs[s : s + shard_size], chunksize=4):
                if r is None:
                    continue
                feats.append(r["feats"])
                feats_nemo.append(r.get("feats_nemo"))
                texts.append(r["text"])
                seconds += r["seconds"]
            if FEATURES == "kaldi":
                shards.write_shard_f16(path, feats, texts, feats_nemo)
            else:
                shards.write_shard(path, feats, texts)
            print(f"{path}: {len(texts)} utterances, {seconds / 3600:.2f} h", flush=True)


if __name__ == "__main__":
    main()
