// sRGB <-> CIE L*a*b* (D65) and the resizes of tfcolor's full-resolution path, in plain
// JavaScript: the same formulas as tfcolor/core/color.py and tfcolor/deploy/inference.py.
// The constants are not written here: python -m tfcolor.export --web writes them into
// tfcolor.json from tfcolor.core.color, and makeLab() takes them (one source of truth).

/** The colour functions for the constants of tfcolor.json's "color" entry. */
export function makeLab(c) {
  const m1 = c.xyz_from_rgb[1]; // the row of Y (luminance) from linear RGB
  const [[r00, r01, r02], [r10, r11, r12], [r20, r21, r22]] = c.rgb_from_xyz; // rows: R, G, B from XYZ
  const [xn, , zn] = c.white;
  const linear = (s) => (s > c.srgb_threshold ? Math.pow((s + 0.055) / 1.055, 2.4) : s / 12.92);
  // The linear light of every 8-bit code value (as rgb_to_lab's uint8 table).
  const toLinear = Float64Array.from({ length: 256 }, (_, v) => linear(v / 255));
  const f = (t) => (t > c.lab_epsilon ? Math.cbrt(t) : c.lab_kappa * t + 16 / 116);
  const fInv = (t) => (t > c.f_inv_threshold ? t * t * t : (t - 16 / 116) / c.lab_kappa);
  // to_uint8(linear_to_srgb(x)) without a pow: the linear light where each byte rounds up to the
  // next (the sRGB curve's inverse at k + 0.5), found from a coarse table of starting bytes.
  const rise = Float64Array.from({ length: 256 }, (_, k) => (k < 255 ? linear((k + 0.5) / 255) : Infinity));
  const STEPS = 4096;
  const start = new Uint8Array(STEPS + 1);
  for (let i = 0, k = 0; i <= STEPS; i++) {
    while (rise[k] <= i / STEPS) k++;
    start[i] = k;
  }
  const linearToByte = (x) => {
    if (!(x > 0)) return 0;
    if (x >= 1) return 255;
    let k = start[(x * STEPS) | 0];
    while (x >= rise[k]) k++;
    return k;
  };

  /** L* (0..100) of each pixel of RGBA bytes (alpha ignored) -> Float32Array [H*W]. */
  function lightness(rgba) {
    const n = rgba.length >> 2;
    const out = new Float32Array(n);
    const [yr, yg, yb] = m1;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const y = yr * toLinear[rgba[j]] + yg * toLinear[rgba[j + 1]] + yb * toLinear[rgba[j + 2]];
      out[i] = 116 * f(y) - 16;
    }
    return out;
  }

  /** (L, a, b) -> sRGB bytes written at out[j], out[j+1], out[j+2]: lab_to_rgb (f(Z) clipped
   * at 0, sRGB clipped) then to_uint8, the same bytes but for values within float rounding
   * of a half. */
  function labToBytes(l, a, b, out, j) {
    const fy = (l + 16) / 116;
    const fx = fy + a / 500;
    const fz = Math.max(fy - b / 200, 0);
    const x = fInv(fx) * xn;
    const y = fInv(fy);
    const z = fInv(fz) * zn;
    out[j] = linearToByte(r00 * x + r01 * y + r02 * z);
    out[j + 1] = linearToByte(r10 * x + r11 * y + r12 * z);
    out[j + 2] = linearToByte(r20 * x + r21 * y + r22 * z);
  }

  /** The gray byte of L alone (a = b = 0): what the network sees, for display. */
  const grayByte = (l) => linearToByte(fInv((l + 16) / 116));

  /** [a*, b*] of one sRGB colour given as bytes (a hint's colour): rgb_to_lab. */
  function abOfBytes(r, g, b) {
    const lin = [toLinear[r], toLinear[g], toLinear[b]];
    const [fx, fy, fz] = c.xyz_from_rgb.map((row, k) => f((row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]) / c.white[k]));
    return [500 * (fx - fy), 200 * (fy - fz)];
  }

  /** [a*, b*] of every pixel of RGBA bytes (alpha ignored) -> Float32Array [H*W*2]: rgb_to_lab
   * (the photo's colours, for a reference photo's transfer). */
  function abOfRgba(rgba) {
    const n = rgba.length >> 2;
    const out = new Float32Array(n * 2);
    const [[x0, x1, x2], [y0, y1, y2], [z0, z1, z2]] = c.xyz_from_rgb;
    const [wx, wy, wz] = c.white;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const r = toLinear[rgba[j]];
      const g = toLinear[rgba[j + 1]];
      const b = toLinear[rgba[j + 2]];
      const fy = f((y0 * r + y1 * g + y2 * b) / wy);
      out[2 * i] = 500 * (f((x0 * r + x1 * g + x2 * b) / wx) - fy);
      out[2 * i + 1] = 200 * (fy - f((z0 * r + z1 * g + z2 * b) / wz));
    }
    return out;
  }

  return { lightness, labToBytes, grayByte, abOfBytes, abOfRgba };
}

/**
 * Source coordinates of tf.image.resize(method="bilinear") (half-pixel centres, no antialias)
 * for one axis: lower index, upper index and weight of the upper one, for each output index.
 */
export function bilinearAxis(inSize, outSize) {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const x = (o + 0.5) * scale - 0.5;
    const fl = Math.floor(x);
    lo[o] = Math.max(fl, 0);
    hi[o] = Math.min(Math.ceil(x), inSize - 1);
    w[o] = x - fl;
  }
  return { lo, hi, w };
}

/** Bilinear resize (as tf.image.resize) of a one-channel image [h*w] -> [outH*outW]. */
export function resizeBilinear(src, h, w, outH, outW) {
  const ys = bilinearAxis(h, outH);
  const xs = bilinearAxis(w, outW);
  const out = new Float32Array(outH * outW);
  for (let oy = 0; oy < outH; oy++) {
    const top = ys.lo[oy] * w;
    const bottom = ys.hi[oy] * w;
    const wy = ys.w[oy];
    for (let ox = 0; ox < outW; ox++) {
      const l = xs.lo[ox];
      const rr = xs.hi[ox];
      const wx = xs.w[ox];
      const t = src[top + l] + (src[top + rr] - src[top + l]) * wx;
      const b = src[bottom + l] + (src[bottom + rr] - src[bottom + l]) * wx;
      out[oy * outW + ox] = t + (b - t) * wy;
    }
  }
  return out;
}

/**
 * inference.shrink: a one-channel [h*w] image -> [size*size], bilinear up to the next
 * multiple k*size of each side, then the mean of each k x k block (every pixel counts).
 */
export function shrink(src, h, w, size) {
  const kh = Math.max(Math.ceil(h / size), 1);
  const kw = Math.max(Math.ceil(w / size), 1);
  const big = resizeBilinear(src, h, w, kh * size, kw * size);
  const out = new Float32Array(size * size);
  const bigW = kw * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sum = 0;
      for (let dy = 0; dy < kh; dy++) {
        const row = (y * kh + dy) * bigW + x * kw;
        for (let dx = 0; dx < kw; dx++) sum += big[row + dx];
      }
      out[y * size + x] = sum / (kh * kw);
    }
  }
  return out;
}
