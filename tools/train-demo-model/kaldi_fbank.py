"""Kaldi-style log-mel filterbank: the features sherpa-onnx computes for its
ONLINE (streaming) models, i.e. kaldi-native-fbank with its default options.
These are the input of the streaming demo model (models/demo-en-streaming-ctc);
the offline demo model uses the NeMo-style fbank.py instead.

The engine's TypeScript twin is written to this same spec:

  input       float samples in [-1, 1] at 16 kHz (no scaling to int16 range)
  framing     25 ms frames (400 samples) every 10 ms (160 samples),
              snip_edges = false: there are floor((n + 80) / 160) frames and
              frame i is centred on sample 160 i + 80, so it covers samples
              [160 i - 120, 160 i + 280). Samples outside [0, n) are mirrored:
              index -1 -> 0, -2 -> 1, ...; index n -> n - 1, n + 1 -> n - 2, ...
  dither      none
  DC removal  each frame minus its own mean (over its 400 samples)
  pre-emph.   0.97 within the frame, last sample first:
              x[j] -= 0.97 x[j-1] for j = 399..1, then x[0] -= 0.97 x[0]
  window      povey: (0.5 - 0.5 cos(2 pi j / 399)) ^ 0.85, j = 0..399
  FFT         zero-padded to 512 points; power spectrum |X[k]|^2
  mel bank    80 triangular filters on kaldi's mel scale
              mel(f) = 1127 ln(1 + f / 700), from 20 Hz to 7600 Hz
              (Nyquist - 400). With d = (mel(7600) - mel(20)) / 81, filter b
              has left/centre/right mels mel(20) + (b, b+1, b+2) d; FFT bin k
              (k = 0..255, frequency 31.25 k Hz; bin 256 is not used) gets
              weight (m - left)/(centre - left) on the rising side and
              (right - m)/(right - centre) on the falling side, where
              m = mel(31.25 k), and 0 unless left < m < right. No area
              normalisation.
  log         ln(max(energy, FLT_EPSILON)), FLT_EPSILON = 2^-23
  output      [T, 80] float32, NOT normalised (the model normalises inside
              with fixed per-bin statistics).

Computed in float64 here; kaldi-native-fbank computes in float32, which
differs by ~1e-5 relative.
"""
import numpy as np

# Framing, pre-emphasis, FFT and log are fbank.py's; the window, DC removal and mel bank are Kaldi's.
from fbank import FFT_SIZE, FRAME_LENGTH_SAMPLES, NUM_MEL_BINS, SAMPLE_RATE_HZ, framed, log_mel_of_frames, num_frames

LOW_FREQ_HZ = 20.0
HIGH_FREQ_HZ = SAMPLE_RATE_HZ / 2 - 400.0  # kaldi's high_freq = -400: Nyquist - 400


def kaldi_mel(f):
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_matrix():
    """[NUM_MEL_BINS, FFT_SIZE // 2] triangle weights over FFT bins 0..255 (kaldi MelBanks)."""
    num_fft_bins = FFT_SIZE // 2
    bin_hz = SAMPLE_RATE_HZ / FFT_SIZE
    mel_low, mel_high = kaldi_mel(LOW_FREQ_HZ), kaldi_mel(HIGH_FREQ_HZ)
    delta = (mel_high - mel_low) / (NUM_MEL_BINS + 1)
    mel = kaldi_mel(np.arange(num_fft_bins) * bin_hz)
    w = np.zeros((NUM_MEL_BINS, num_fft_bins))
    for b in range(NUM_MEL_BINS):
        left, centre, right = mel_low + b * delta, mel_low + (b + 1) * delta, mel_low + (b + 2) * delta
        up = (mel - left) / (centre - left)
        down = (right - mel) / (right - centre)
        w[b] = np.where((mel > left) & (mel < right), np.where(mel <= centre, up, down), 0.0)
    return w


_MEL = mel_matrix()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH_SAMPLES) / (FRAME_LENGTH_SAMPLES - 1))) ** 0.85


def features(samples):
    """samples: float waveform in [-1, 1] at 16 kHz -> [T, 80] float32 log-mel (kaldi, not normalised)."""
    x = np.asarray(samples, dtype=np.float64)
    if num_frames(len(x)) == 0:
        return np.zeros((0, NUM_MEL_BINS), np.float32)
    frames = framed(x)
    frames = frames - frames.mean(axis=1, keepdims=True)  # remove DC offset
    return log_mel_of_frames(frames, _WINDOW, _MEL).astype(np.float32)


if __name__ == "__main__":
    # A quick look: a 440 Hz tone's features.
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    f = features(tone)
    print(f.shape, f[50, :10])
