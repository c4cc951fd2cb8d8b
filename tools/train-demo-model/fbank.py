"""Reference log-mel filterbank, the exact features the NeMo CTC contract uses.

This is the Python twin of engine/asr/features.ts. It is used to compute the
training features of the demo model (so the model sees at training time what
the server computes at run time) and to produce the reference vectors that
tests/features.test.ts compares against.

Spec (sherpa-onnx's fbank for NeMo CTC models, kaldi-native-fbank options):
  16 kHz input in [-1, 1]; 25 ms frames (400 samples) every 10 ms (160);
  snip_edges = false: frame f covers samples [160 f - 120, 160 f + 280) with
  reflection at both ends, and there are floor((n + 80) / 160) frames;
  no dither, no DC removal, pre-emphasis 0.97 (x[i] -= 0.97 x[i-1],
  x[0] -= 0.97 x[0]); periodic Hann window (0.5 - 0.5 cos(2 pi i / 400));
  zero-padded to a 512-point FFT; power spectrum; 80 librosa/slaney mel
  filters from 0 Hz to 8000 Hz with slaney area normalisation over FFT bins
  0..255; natural log with a floor of float32 epsilon.
  normalize_type 'per_feature': each mel bin minus its mean over the
  utterance, divided by (population std + 1e-5).
"""
import numpy as np

SAMPLE_RATE_HZ = 16000
FRAME_LENGTH_SAMPLES = 400
FRAME_SHIFT_SAMPLES = 160
FFT_SIZE = 512
NUM_MEL_BINS = 80
PREEMPH = 0.97
LOG_FLOOR = float(np.finfo(np.float32).eps)
PAD_LOG_VALUE = float(np.log(1e-10))


def slaney_hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def slaney_mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_matrix():
    """[NUM_MEL_BINS, FFT_SIZE // 2] weights over FFT bins 0..255."""
    num_fft_bins = FFT_SIZE // 2
    bin_hz = SAMPLE_RATE_HZ / FFT_SIZE
    mel_low = slaney_hz_to_mel(0.0)
    mel_high = slaney_hz_to_mel(SAMPLE_RATE_HZ / 2)
    delta = (mel_high - mel_low) / (NUM_MEL_BINS + 1)
    freqs = np.arange(num_fft_bins) * bin_hz
    w = np.zeros((NUM_MEL_BINS, num_fft_bins))
    for b in range(NUM_MEL_BINS):
        left, center, right = slaney_mel_to_hz(mel_low + np.array([b, b + 1, b + 2]) * delta)
        up = (freqs - left) / (center - left)
        down = (right - freqs) / (right - center)
        tri = np.where(freqs <= center, up, down)
        inside = (freqs > left) & (freqs < right)
        w[b] = np.where(inside, tri, 0.0) * 2.0 / (right - left)
    return w


_MEL = mel_matrix()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH_SAMPLES) / FRAME_LENGTH_SAMPLES)


def num_frames(num_samples):
    return (num_samples + FRAME_SHIFT_SAMPLES // 2) // FRAME_SHIFT_SAMPLES


def framed(x):
    """[num_frames(n), 400] frames of x (float64) with snip_edges = false: frame i
    covers samples [160 i - 120, 160 i + 280), Kaldi's reflection at both ends.
    Shared with kaldi_fbank.py."""
    n = len(x)
    first = np.arange(num_frames(n)) * FRAME_SHIFT_SAMPLES + FRAME_SHIFT_SAMPLES // 2 - FRAME_LENGTH_SAMPLES // 2
    idx = first[:, None] + np.arange(FRAME_LENGTH_SAMPLES)[None, :]
    # Kaldi's reflection, repeated until inside (matters only for tiny inputs).
    for _ in range(4):
        idx = np.where(idx < 0, -idx - 1, idx)
        idx = np.where(idx >= n, 2 * n - 1 - idx, idx)
    return x[idx]


def log_mel_of_frames(frames, window, mel):
    """Pre-emphasis (a frame's first sample is its own predecessor), window, 512-point
    power spectrum, mel energies over FFT bins 0..255, natural log floored at
    float32 epsilon. Shared with kaldi_fbank.py."""
    pre = frames.copy()
    pre[:, 1:] -= PREEMPH * frames[:, :-1]
    pre[:, 0] -= PREEMPH * frames[:, 0]
    spec = np.fft.rfft(pre * window, n=FFT_SIZE, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    return np.log(np.maximum(power[:, : FFT_SIZE // 2] @ mel.T, LOG_FLOOR))


def log_mel(samples):
    """samples: float array in [-1, 1] at 16 kHz -> [T, 80] float64 log-mel (not normalised)."""
    x = np.asarray(samples, dtype=np.float64)
    if num_frames(len(x)) == 0:
        return np.zeros((0, NUM_MEL_BINS))
    return log_mel_of_frames(framed(x), _WINDOW, _MEL)


def normalize_per_feature(feats):
    mean = feats.mean(axis=0, keepdims=True)
    var = (feats ** 2).mean(axis=0, keepdims=True) - mean ** 2
    std = np.sqrt(np.maximum(var, 0.0))
    return (feats - mean) / (std + 1e-5)


def features(samples):
    """The model input: per-feature normalised log-mel, [T, 80] float32."""
    return normalize_per_feature(log_mel(samples)).astype(np.float32)
