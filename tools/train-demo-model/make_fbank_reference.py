"""Writes tests/fixtures/fbank-reference.json: what fbank.py computes for a few
test signals, which tests/fbank.test.ts holds engine/asr/fbank.ts to.

The signals are not stored, only the formula's parameters: the test rebuilds
them bit for bit. Each sample is, in float64 and in this order,
  sum over sines of amp * sin(2 * pi * freq_hz * n / 16000 + phase_rad)
  + chirp amp * sin(2 * pi * (f0 * t + (f1 - f0) * t * t / (2 * dur))),
    t = n / 16000, dur = num_samples / 16000 (a linear sweep f0 -> f1 Hz)
  + noise amp * (2 * state / 2^32 - 1), state advanced before each sample by
    the 32-bit LCG state = (1664525 * state + 1013904223) mod 2^32
then rounded to float32 (the server's sample type). Only +, *, / and sin are
involved, and float32 rounding hides the last-bit differences sin may have
between libm and V8.

Run: /usr/bin/python3 tools/train-demo-model/make_fbank_reference.py
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fbank  # noqa: E402

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "fbank-reference.json")

LCG_MULTIPLIER = 1664525
LCG_INCREMENT = 1013904223

# Short lengths exercise the reflected edges: 399 gives 2 frames, 161 and 80 one
# frame reaching past both ends, 1 none at all.
CASES = [
    {"name": "tones and noise", "numSamples": 16000,
     "sines": [[0.4, 440.0, 0.0], [0.2, 1234.5, 0.3], [0.1, 3000.0, 1.0], [0.05, 7000.0, 2.0]],
     "chirp": None, "noise": [0.01, 1]},
    {"name": "chirp 100 to 7900 Hz and noise", "numSamples": 12345,
     "sines": [], "chirp": [0.5, 100.0, 7900.0], "noise": [0.005, 2]},
    {"name": "loud noise", "numSamples": 4000, "sines": [], "chirp": None, "noise": [0.3, 3]},
    {"name": "tone, two frames", "numSamples": 399, "sines": [[0.5, 1000.0, 0.5]], "chirp": None, "noise": [0.01, 4]},
    {"name": "two tones, one frame", "numSamples": 161,
     "sines": [[0.3, 250.0, 0.0], [0.3, 5000.0, 0.0]], "chirp": None, "noise": [0.02, 5]},
    {"name": "noise, shortest signal with a frame", "numSamples": 80, "sines": [], "chirp": None, "noise": [0.5, 6]},
    {"name": "one sample, no frame", "numSamples": 1, "sines": [], "chirp": None, "noise": [0.5, 7]},
    {"name": "digital silence (log floor)", "numSamples": 1600, "sines": [], "chirp": None, "noise": None},
    {"name": "very quiet noise (partly at the log floor)", "numSamples": 3200, "sines": [], "chirp": None, "noise": [1e-4, 8]},
]

# Cases with more frames than this store every FRAME_STRIDE-th frame and the last.
MAX_FRAMES_STORED_ALL = 40
FRAME_STRIDE = 3
DECIMALS = 6


def make_signal(case):
    n_total = case["numSamples"]
    dur = n_total / 16000
    state = case["noise"][1] if case["noise"] else 0
    out = np.zeros(n_total, dtype=np.float32)
    for n in range(n_total):
        v = 0.0
        for amp, freq_hz, phase_rad in case["sines"]:
            v += amp * math.sin(2 * math.pi * freq_hz * n / 16000 + phase_rad)
        if case["chirp"]:
            amp, f0, f1 = case["chirp"]
            t = n / 16000
            v += amp * math.sin(2 * math.pi * (f0 * t + (f1 - f0) * t * t / (2 * dur)))
        if case["noise"]:
            state = (LCG_MULTIPLIER * state + LCG_INCREMENT) % 2**32
            v += case["noise"][0] * (2 * state / 2**32 - 1)
        out[n] = v
    return out


def rows(matrix, frame_indices):
    return [[round(float(v), DECIMALS) for v in matrix[f]] for f in frame_indices]


def main():
    cases_out = []
    for case in CASES:
        x = make_signal(case).astype(np.float64)
        log_mel = fbank.log_mel(x)
        t = log_mel.shape[0]
        assert t == fbank.num_frames(len(x))
        normalized = fbank.normalize_per_feature(log_mel) if t > 0 else log_mel
        if t <= MAX_FRAMES_STORED_ALL:
            frame_indices = list(range(t))
        else:
            frame_indices = list(range(0, t, FRAME_STRIDE))
            if frame_indices[-1] != t - 1:
                frame_indices.append(t - 1)
        # Lets the test tell a signal that was rebuilt differently from features that differ.
        sum_abs = float(np.sum(np.abs(x)))
        cases_out.append({**case, "sumAbsSamples": sum_abs, "numFrames": t, "frameIndices": frame_indices,
                          "logMel": rows(log_mel, frame_indices), "normalized": rows(normalized, frame_indices)})

    # One matrix row per line keeps the file readable and its diffs small.
    lines = ["{",
             f'"generator": {json.dumps({"lcgMultiplier": LCG_MULTIPLIER, "lcgIncrement": LCG_INCREMENT, "sampleRateHz": 16000})},',
             f'"decimals": {DECIMALS},',
             '"cases": [']
    for i, case in enumerate(cases_out):
        head = {k: v for k, v in case.items() if k not in ("logMel", "normalized")}
        lines.append("{" + json.dumps(head)[1:-1] + ",")
        for key in ("logMel", "normalized"):
            lines.append(f'"{key}": [')
            lines.extend(json.dumps(r, separators=(",", ":")) + ("," if j < len(case[key]) - 1 else "")
                         for j, r in enumerate(case[key]))
            lines.append("]," if key == "logMel" else "]")
        lines.append("}" + ("," if i < len(cases_out) - 1 else ""))
    lines += ["]", "}"]
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.normpath(OUT_PATH)} ({os.path.getsize(OUT_PATH)} bytes, {len(cases_out)} cases)")


if __name__ == "__main__":
    main()
