/**
 * Forward FFT of real signals whose length is a power of two, as used by the
 * filterbank (512 points per 25 ms frame). The N real points are packed into
 * one N/2-point complex FFT (even samples real, odd samples imaginary), which
 * runs in radix-4 passes over an interleaved buffer, and are split apart at
 * the end. Tables (bit reversal, twiddles) are built once per size and
 * transforms allocate nothing: this runs 100 times per second of audio on
 * every partial re-decode. bench/fbank.ts compares it with fft.js.
 */

export class RealFft {
  /** Number of real input points. */
  readonly size: number;
  private readonly half: number;
  /** bitReversed[p] is the packed point that position p holds before the butterflies. */
  private readonly bitReversed: Int32Array;
  /** Whether log2(half) is odd, so that one radix-2 pass precedes the radix-4 ones. */
  private readonly radix2First: boolean;
  /** cos / sin of 2 pi k / size for k < size / 2, for the split. */
  private readonly splitCos: Float64Array;
  private readonly splitSin: Float64Array;
  /** Per radix-4 pass and butterfly: W^j, W^2j, W^3j as (re, im) pairs, in the order the passes use them. */
  private readonly twiddles: Float64Array;
  /** The packed half-size signal, interleaved (re, im). */
  private readonly z: Float64Array;
  /** powerSpectrum's spectrum before squaring. */
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new Error(`RealFft: size must be a power of two >= 4, got ${size}`);
    }
    this.size = size;
    this.half = size / 2;
    const bits = Math.log2(this.half);
    this.radix2First = bits % 2 === 1;
    this.bitReversed = new Int32Array(this.half);
    for (let p = 0; p < this.half; p++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((p >> b) & 1) << (bits - 1 - b);
      this.bitReversed[p] = r;
    }
    this.splitCos = new Float64Array(this.half);
    this.splitSin = new Float64Array(this.half);
    for (let k = 0; k < this.half; k++) {
      this.splitCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.splitSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    const twiddles: number[] = [];
    for (let span = this.radix2First ? 2 : 4; span < this.half; span *= 4) {
      for (let j = 0; j < span; j++) {
        for (const r of [1, 2, 3]) {
          const angle = (-2 * Math.PI * r * j) / (4 * span);
          twiddles.push(Math.cos(angle), Math.sin(angle));
        }
      }
    }
    this.twiddles = Float64Array.from(twiddles);
    this.z = new Float64Array(size);
    this.re = new Float64Array(this.half + 1);
    this.im = new Float64Array(this.half + 1);
  }

  /**
   * X[k] = sum_n input[n] e^(-2 pi i k n / size) for k = 0 .. size / 2 (the
   * rest is the conjugate mirror). outRe and outIm need size / 2 + 1 slots.
   */
  transform(input: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const { half, z, splitCos, splitSin } = this;
    this.packedFft(input);
    // With Z the packed spectrum, E = (Z[k] + conj Z[half - k]) / 2 is the
    // spectrum of the even samples, O = (Z[k] - conj Z[half - k]) / 2i that of
    // the odd ones, X[k] = E + W^k O and X[half - k] = conj(E - W^k O).
    outRe[0] = z[0] + z[1];
    outIm[0] = 0;
    outRe[half] = z[0] - z[1];
    outIm[half] = 0;
    for (let k = 1; 2 * k <= half; k++) {
      const ar = z[2 * k];
      const ai = z[2 * k + 1];
      const cr = z[2 * (half - k)];
      const ci = z[2 * (half - k) + 1];
      const er = 0.5 * (ar + cr);
      const ei = 0.5 * (ai - ci);
      const or = 0.5 * (ai + ci);
      const oi = 0.5 * (cr - ar);
      const wr = splitCos[k];
      const wi = -splitSin[k];
      const tr = or * wr - oi * wi;
      const ti = or * wi + oi * wr;
      outRe[k] = er + tr;
      outIm[k] = ei + ti;
      outRe[half - k] = er - tr;
      outIm[half - k] = ti - ei;
    }
  }

  /** |X[k]|^2 for k = 0 .. size / 2, as transform() gives; outPower needs size / 2 + 1 slots. */
  powerSpectrum(input: Float64Array, outPower: Float64Array): void {
    const { re, im } = this;
    this.transform(input, re, im);
    for (let k = 0; k <= this.half; k++) outPower[k] = re[k] * re[k] + im[k] * im[k];
  }

  /** Leaves in z the half-size complex FFT of z[m] = input[2m] + i input[2m + 1]. */
  private packedFft(input: Float64Array): void {
    const { half, z, bitReversed, twiddles } = this;
    // Decimation in time: the first pass reads the input in bit-reversed order,
    // and needs no twiddles.
    let span: number;
    if (this.radix2First) {
      for (let p = 0; p < half; p += 2) {
        const i0 = 2 * bitReversed[p];
        const i1 = 2 * bitReversed[p + 1];
        const r0 = input[i0];
        const m0 = input[i0 + 1];
        const r1 = input[i1];
        const m1 = input[i1 + 1];
        z[2 * p] = r0 + r1;
        z[2 * p + 1] = m0 + m1;
        z[2 * p + 2] = r0 - r1;
        z[2 * p + 3] = m0 - m1;
      }
      span = 2;
    } else {
      for (let p = 0; p < half; p += 4) {
        // Bit reversal puts sub-FFT F_2 at position p + 1 and F_1 at p + 2 (see the passes below).
        const i0 = 2 * bitReversed[p];
        const i2 = 2 * bitReversed[p + 1];
        const i1 = 2 * bitReversed[p + 2];
        const i3 = 2 * bitReversed[p + 3];
        const s02r = input[i0] + input[i2];
        const s02i = input[i0 + 1] + input[i2 + 1];
        const d02r = input[i0] - input[i2];
        const d02i = input[i0 + 1] - input[i2 + 1];
        const s13r = input[i1] + input[i3];
        const s13i = input[i1 + 1] + input[i3 + 1];
        const d13r = input[i1] - input[i3];
        const d13i = input[i1 + 1] - input[i3 + 1];
        const o = 2 * p;
        z[o] = s02r + s13r;
        z[o + 1] = s02i + s13i;
        z[o + 2] = d02r + d13i;
        z[o + 3] = d02i - d13r;
        z[o + 4] = s02r - s13r;
        z[o + 5] = s02i - s13i;
        z[o + 6] = d02r - d13i;
        z[o + 7] = d02i + d13r;
      }
      span = 4;
    }

    // Radix-4 passes: four sub-FFTs F_0..F_3 of `span` points (of the samples
    // that are 0, 1, 2, 3 mod 4) become one of 4 span points. Bit reversal
    // leaves them in the order F_0, F_2, F_1, F_3 in each block.
    let w = 0;
    for (; span < half; span *= 4) {
      const stride = 2 * span; // one sub-FFT, in floats
      for (let j = 0; j < span; j++, w += 6) {
        const w1r = twiddles[w];
        const w1i = twiddles[w + 1];
        const w2r = twiddles[w + 2];
        const w2i = twiddles[w + 3];
        const w3r = twiddles[w + 4];
        const w3i = twiddles[w + 5];
        for (let a = 2 * j; a < 2 * half; a += 4 * stride) {
          const b = a + stride;
          const c = b + stride;
          const d = c + stride;
          // G_r = W^(r j) F_r[j] with F_1 at c and F_2 at b.
          const g0r = z[a];
          const g0i = z[a + 1];
          const g1r = z[c] * w1r - z[c + 1] * w1i;
          const g1i = z[c] * w1i + z[c + 1] * w1r;
          const g2r = z[b] * w2r - z[b + 1] * w2i;
          const g2i = z[b] * w2i + z[b + 1] * w2r;
          const g3r = z[d] * w3r - z[d + 1] * w3i;
          const g3i = z[d] * w3i + z[d + 1] * w3r;
          const s02r = g0r + g2r;
          const s02i = g0i + g2i;
          const d02r = g0r - g2r;
          const d02i = g0i - g2i;
          const s13r = g1r + g3r;
          const s13i = g1i + g3i;
          const d13r = g1r - g3r;
          const d13i = g1i - g3i;
          // X[j] = S02 + S13, X[j + 2 span] = S02 - S13, X[j +/- span] = D02 -/+ i D13.
          z[a] = s02r + s13r;
          z[a + 1] = s02i + s13i;
          z[c] = s02r - s13r;
          z[c + 1] = s02i - s13i;
          z[b] = d02r + d13i;
          z[b + 1] = d02i - d13r;
          z[d] = d02r - d13i;
          z[d + 1] = d02i + d13r;
        }
      }
    }
  }
}
