// Hints for a model without hint inputs (the shipped one), in the page: Levin, Lischinski and
// Weiss 2004's propagation as tfcolor.deploy.hinting.propagate runs it in Python (the same
// pixels: tests/test_web.py compares them). The photo's L is shrunk to the working size (its
// long side tfcolor.json's "propagation" size), the hints rasterised there, one sparse system
// (tfcolor.core.levin) solved for a* and b*, and the a*b* resized back onto the photo's L.
//
// The solve: a banded LU factorisation (the pixels ordered along the photo's long side, so that
// the band is its short side + 1), without pivoting (the system is diagonally dominant by rows,
// which elimination keeps). Its factors depend on the photo and on which pixels are hinted, not
// on the hints' colours: changing a colour re-runs only the two triangular solves.

const OFFSETS = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]]; // core.levin.OFFSETS

/** Python's round (halves to even), as hinting.working_size rounds. */
function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** hinting.working_size: (h, w) with the long side `longSide` (never larger than the photo). */
export function workingSize(height, width, longSide) {
  const scale = Math.min(1, longSide / Math.max(height, width));
  return [Math.max(1, roundHalfEven(height * scale)), Math.max(1, roundHalfEven(width * scale))];
}

/** colornp._area_weights for one axis: for each output cell, its input cells and their shares. */
function areaAxis(n, size) {
  const step = n / size;
  const cells = [];
  for (let o = 0; o < size; o++) {
    const low = o * step;
    const high = (o + 1) * step;
    const list = [];
    for (let i = Math.floor(low); i < Math.min(n, Math.ceil(high)); i++) {
      const overlap = Math.min(high, i + 1) - Math.max(low, i);
      if (overlap > 0) list.push([i, overlap / step]);
    }
    cells.push(list);
  }
  return cells;
}

/** colornp.resize_area of a one-channel image [h*w] -> [outH*outW] (Float64Array). */
export function resizeArea(src, h, w, outH, outW) {
  const rows = areaAxis(h, outH);
  const cols = areaAxis(w, outW);
  const tmp = new Float64Array(outH * w);
  for (let o = 0; o < outH; o++) {
    for (const [i, share] of rows[o]) {
      for (let x = 0; x < w; x++) tmp[o * w + x] += share * src[i * w + x];
    }
  }
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    for (let o = 0; o < outW; o++) {
      let sum = 0;
      for (const [i, share] of cols[o]) sum += share * tmp[y * w + i];
      out[y * outW + o] = sum;
    }
  }
  return out;
}

/** The weights of core.levin.affinity_system: for each pixel its 8 neighbours' weights
 * (0 outside the photo), normalised to sum 1. gray: [h*w] intensities in [0, 1]. */
export function affinities(gray, h, w) {
  const weights = new Float64Array(h * w * 8);
  const neigh = new Float64Array(8);
  const ok = new Uint8Array(8);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const g = gray[y * w + x];
      let n = 1;
      let sum = g;
      for (let k = 0; k < 8; k++) {
        const yy = y + OFFSETS[k][0];
        const xx = x + OFFSETS[k][1];
        ok[k] = yy >= 0 && yy < h && xx >= 0 && xx < w ? 1 : 0;
        if (ok[k]) {
          neigh[k] = gray[yy * w + xx];
          sum += neigh[k];
          n += 1;
        }
      }
      const mean = sum / n;
      let variance = (g - mean) ** 2;
      let closest = Infinity;
      for (let k = 0; k < 8; k++) {
        if (!ok[k]) continue;
        variance += (neigh[k] - mean) ** 2;
        closest = Math.min(closest, (neigh[k] - g) ** 2);
      }
      variance /= n;
      const sigma = Math.max(0.6 * variance, -closest / Math.log(0.01), 2e-6);
      let total = 0;
      const base = (y * w + x) * 8;
      for (let k = 0; k < 8; k++) {
        const v = ok[k] ? Math.exp(-((neigh[k] - g) ** 2) / sigma) : 0;
        weights[base + k] = v;
        total += v;
      }
      if (total > 0) for (let k = 0; k < 8; k++) weights[base + k] /= total; // (a 1x1 photo: no neighbours)
    }
  }
  return weights;
}

/** The banded LU factors of (I - W) on free pixels (plus `shift` on their diagonal), identity
 * rows on hinted ones (mask: [h*w] non-zero there; null: none). Pixels are numbered along the
 * long side: `order[y * w + x]` is a pixel's number. */
export function factorize(weights, mask, h, w, shift = 0) {
  const steps = factorSteps(weights, mask, h, w, shift);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/** factorize, giving the page back every SLICE_MS or so (the hint editor prepares the factors
 * while the user aims, without freezing the page): `pause()` resolves when it may go on. */
export async function factorizeGently(weights, mask, h, w, shift, pause) {
  const steps = factorSteps(weights, mask, h, w, shift);
  let step = steps.next();
  while (!step.done) {
    await pause();
    step = steps.next();
  }
  return step.value;
}

const SLICE_MS = 25;

/** factorize as a generator that yields every SLICE_MS or so and returns the factors. */
function* factorSteps(weights, mask, h, w, shift) {
  const byColumns = w > h; // number down the columns: the band is h + 1
  const n = h * w;
  const bw = (byColumns ? h : w) + 1;
  const stride = 2 * bw + 1;
  const order = new Int32Array(n);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) order[y * w + x] = byColumns ? x * h + y : y * w + x;
  const band = new Float64Array(n * stride); // band[i * stride + bw + (j - i)] = A[i][j]
  for (let p = 0; p < n; p++) {
    const i = order[p];
    if (mask && mask[p]) {
      band[i * stride + bw] = 1;
      continue;
    }
    band[i * stride + bw] = 1 + shift;
    const y = Math.floor(p / w);
    const x = p - y * w;
    for (let k = 0; k < 8; k++) {
      const v = weights[p * 8 + k];
      if (v !== 0) band[i * stride + bw + order[(y + OFFSETS[k][0]) * w + x + OFFSETS[k][1]] - i] = -v;
    }
  }
  // Gaussian elimination within the band; the multipliers stay where the eliminated entries were.
  let slice = performance.now();
  for (let k = 0; k < n; k++) {
    if ((k & 255) === 255 && performance.now() - slice > SLICE_MS) {
      yield;
      slice = performance.now();
    }
    const rowK = k * stride + bw - k; // band[rowK + j] = A[k][j]
    const pivot = band[rowK + k];
    const last = Math.min(n - 1, k + bw);
    for (let i = k + 1; i <= last; i++) {
      const rowI = i * stride + bw - i;
      const a = band[rowI + k];
      if (a === 0) continue;
      const f = a / pivot;
      band[rowI + k] = f;
      // band[rowI + j] -= f * band[rowK + j] for j in (k, last], four at a time (1.3-1.5x faster in V8)
      let pi = rowI + k + 1;
      let pk = rowK + k + 1;
      const end = rowI + last;
      for (; pi + 3 <= end; pi += 4, pk += 4) {
        band[pi] -= f * band[pk];
        band[pi + 1] -= f * band[pk + 1];
        band[pi + 2] -= f * band[pk + 2];
        band[pi + 3] -= f * band[pk + 3];
      }
      for (; pi <= end; pi++, pk++) band[pi] -= f * band[pk];
    }
  }
  return { band, n, bw, stride, order };
}

/** Solves the factorised system for a right-hand side in pixel order [h*w] (y * w + x); returns
 * the solution in pixel order. `from`: the first number where the right-hand side is non-zero. */
export function solve(factors, rhs, from = 0) {
  const { band, n, bw, stride, order } = factors;
  const x = new Float64Array(n);
  for (let p = 0; p < n; p++) x[order[p]] = rhs[p];
  for (let i = from; i < n; i++) {
    const row = i * stride + bw - i;
    let sum = x[i];
    for (let j = Math.max(from, i - bw); j < i; j++) sum -= band[row + j] * x[j];
    x[i] = sum;
  }
  for (let i = n - 1; i >= 0; i--) {
    const row = i * stride + bw - i;
    let sum = x[i];
    const last = Math.min(n - 1, i + bw);
    for (let j = i + 1; j <= last; j++) sum -= band[row + j] * x[j];
    x[i] = sum / band[row + i];
  }
  const out = new Float64Array(n);
  for (let p = 0; p < n; p++) out[p] = x[order[p]];
  return out;
}

/** Gaussian elimination with partial pivoting of a dense k x k system (row-major), in place,
 * for the columns of `rhs` ([k * c]); returns rhs, now the solution. */
function solveDense(matrix, rhs, k, c) {
  for (let col = 0; col < k; col++) {
    let best = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(matrix[r * k + col]) > Math.abs(matrix[best * k + col])) best = r;
    if (best !== col) {
      for (let j = 0; j < k; j++) [matrix[col * k + j], matrix[best * k + j]] = [matrix[best * k + j], matrix[col * k + j]];
      for (let j = 0; j < c; j++) [rhs[col * c + j], rhs[best * c + j]] = [rhs[best * c + j], rhs[col * c + j]];
    }
    for (let r = col + 1; r < k; r++) {
      const f = matrix[r * k + col] / matrix[col * k + col];
      if (f === 0) continue;
      for (let j = col; j < k; j++) matrix[r * k + j] -= f * matrix[col * k + j];
      for (let j = 0; j < c; j++) rhs[r * c + j] -= f * rhs[col * c + j];
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    for (let j = 0; j < c; j++) {
      let sum = rhs[r * c + j];
      for (let q = r + 1; q < k; q++) sum -= matrix[r * k + q] * rhs[q * c + j];
      rhs[r * c + j] = sum / matrix[r * k + r];
    }
  }
  return rhs;
}

// While hints cover at most GREEN_MAX pixels of the working size, the system is not factorised
// again when they change. The photo's own A = I - W + shift I is factorised once, and with the
// columns z_g = A^-1 e_g of the hinted pixels g (one triangular solve per newly hinted pixel,
// kept) the solution of the system whose hinted rows are identity rows is
//   x = x0 + Z K^-1 (c - x0[H]),  K = Z[H, :],  x0 = A^-1 (shift * prior)
// (Sherman-Morrison-Woodbury for the replaced rows): every hinted pixel takes its hint c, every
// free one solves its row. With a prior (a reference photo's colours) the shift is its weight
// and x is Python's solution exactly; without one the shift is SHIFT, a pull of weight 1e-9
// towards 0 on free pixels that makes I - W invertible (its effect on a*b* is below 0.01). More
// hinted pixels (wide points): the system with their identity rows is factorised.
const GREEN_MAX = 96;
export const SHIFT = 1e-9;

/** A photo's factorised I - W + shift I, with the Green's functions and prior solution made from it. */
const base = (shift, factors) => ({ shift, factors, green: new Map(), prior: null });

/** The gray (L / 100, area-resized) and affinities of a photo's L ([height*width], 0..100) at the working size [h, w], kept in
 * `cache` (the cache of one photo); with `shift`, also the factors of its I - W + shift I, which
 * the first hints need (the hint editor makes them ready when it opens). */
export function prepare(l, height, width, h, w, cache, shift = null) {
  if (!cache.weights || cache.h !== h || cache.w !== w) {
    const gray = resizeArea(Float64Array.from(l, (v) => v / 100), height, width, h, w);
    Object.assign(cache, { gray, weights: affinities(gray, h, w), h, w, key: null, factors: null, base: null });
  }
  if (shift !== null && (!cache.base || cache.base.shift !== shift)) {
    cache.base = base(shift, factorize(cache.weights, null, h, w, shift));
  }
  return cache;
}

/** prepare with `shift`, its factorisation in slices between `pause()`s; the promise is kept
 * in `cache.pending` until done (colorize awaits it before solving). */
export function prepareGently(l, height, width, h, w, cache, shift, pause) {
  prepare(l, height, width, h, w, cache);
  if (cache.base && cache.base.shift === shift) return Promise.resolve(cache);
  if (cache.pending && cache.pendingShift === shift) return cache.pending;
  const weights = cache.weights;
  cache.pendingShift = shift;
  cache.pending = (async () => {
    const factors = await factorizeGently(weights, null, h, w, shift, pause);
    if (cache.weights === weights && (!cache.base || cache.base.shift !== shift)) {
      cache.base = base(shift, factors);
    }
    cache.pending = null;
    return cache;
  })();
  return cache.pending;
}

/** The prior's two channels [h*w] each, times `weight`, from interleaved [h*w*2]. */
function weighted(prior, weight, n) {
  return [0, 1].map((c) => Float64Array.from({ length: n }, (_, i) => weight * prior[i * 2 + c]));
}

/**
 * hinting.propagate: the a*b* (natural units, [h*w*2] interleaved) at the working size [h, w] of
 * a photo's L ([height*width], 0..100) with `hintMap` ({ab: normalised [h*w*2], mask: [h*w]},
 * built at [h, w] by hints.hintMap), pulled by `weight` towards `prior` (normalised a*b* [h*w*2]
 * on free pixels; null: none). `cache` (kept between calls on one photo) holds what the next
 * call reuses: the affinities, the factors, the Green's functions.
 */
export function propagate(l, height, width, h, w, hintMap, abScale, cache = {}, prior = null, weight = 0) {
  const { ab: hintAb, mask } = hintMap;
  const n = h * w;
  const hinted = [];
  for (let p = 0; p < mask.length; p++) if (mask[p]) hinted.push(p);
  const k = hinted.length;
  const usePrior = prior !== null && weight > 0;
  prepare(l, height, width, h, w, cache, k <= GREEN_MAX ? (usePrior ? weight : SHIFT) : null);
  const ab = new Float32Array(n * 2);
  if (k <= GREEN_MAX) {
    const base = cache.base;
    if (base.prior !== prior) {
      base.prior = prior;
      base.x0 = usePrior ? weighted(prior, weight, n).map((rhs) => solve(base.factors, rhs)) : null;
    }
    const green = new Map();
    for (const p of hinted) {
      let z = base.green.get(p);
      if (!z) {
        const e = new Float64Array(n);
        e[p] = 1;
        z = solve(base.factors, e, base.factors.order[p]);
      }
      green.set(p, z);
    }
    base.green = green; // the functions of pixels no longer hinted go
    const matrix = new Float64Array(k * k);
    const values = new Float64Array(k * 2);
    hinted.forEach((g, r) => {
      hinted.forEach((p, c) => (matrix[r * k + c] = green.get(p)[g]));
      for (let c = 0; c < 2; c++) values[r * 2 + c] = hintAb[g * 2 + c] - (base.x0 ? base.x0[c][g] : 0);
    });
    const y = solveDense(matrix, values, k, 2);
    const sum = new Float64Array(n * 2); // (the terms are large and cancel: float64)
    if (base.x0) {
      for (let i = 0; i < n; i++) {
        sum[i * 2] = base.x0[0][i];
        sum[i * 2 + 1] = base.x0[1][i];
      }
    }
    hinted.forEach((p, j) => {
      const z = green.get(p);
      const ya = y[j * 2];
      const yb = y[j * 2 + 1];
      for (let i = 0; i < n; i++) {
        sum[i * 2] += ya * z[i];
        sum[i * 2 + 1] += yb * z[i];
      }
    });
    for (let i = 0; i < n * 2; i++) ab[i] = sum[i] * abScale;
    return ab;
  }
  const key = `${hinted.join(",")};${usePrior ? weight : 0}`;
  if (cache.key !== key) {
    cache.factors = factorize(cache.weights, mask, h, w, usePrior ? weight : 0);
    cache.key = key;
  }
  const pulls = usePrior ? weighted(prior, weight, n) : null;
  for (let c = 0; c < 2; c++) {
    const rhs = pulls ? pulls[c] : new Float64Array(n);
    for (const p of hinted) rhs[p] = hintAb[p * 2 + c];
    const u = solve(cache.factors, rhs);
    for (let i = 0; i < n; i++) ab[i * 2 + c] = u[i] * abScale;
  }
  return ab;
}
