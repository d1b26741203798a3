// The last pass of every colourisation: the photo's own L joined with a*b* given at a working
// size, resized with tf.image.resize's bilinear weights (as inference.colorize) and turned into
// sRGB bytes. Over a 1600 px preview this is most of a re-colouring in the hint editor, so a
// Painter splits a large photo's rows with a worker (paint_worker.js) on a second core.

import { bilinearAxis, makeLab } from "./lab.js";

/** Rows y0..y1 of the painted photo into `out` (RGBA bytes from row y0): L ([H*W] of the whole
 * photo, or of rows y0.. when lFrom = y0), alpha likewise or null, a*b* at abH x abW
 * ([abH*abW*2], natural units). Each needed a*b* row is resized across once, then each photo
 * row lies between two of them: the same numbers as the four-neighbour sum in that order.
 * `breathe` (optional) is awaited every 256 rows. */
export async function paintRows(lab, ab, abH, abW, l, alpha, width, height, y0, y1, out, lFrom = 0, breathe = null) {
  const ys = bilinearAxis(abH, height);
  const xs = bilinearAxis(abW, width);
  const first = ys.lo[y0];
  const last = ys.hi[y1 - 1];
  const across = new Float64Array((last - first + 1) * width * 2); // a*b* rows first..last, resized across
  for (let r = first, o = 0; r <= last; r++) {
    for (let x = 0; x < width; x++, o += 2) {
      const lo = (r * abW + xs.lo[x]) * 2;
      const hi = (r * abW + xs.hi[x]) * 2;
      across[o] = ab[lo] + (ab[hi] - ab[lo]) * xs.w[x];
      across[o + 1] = ab[lo + 1] + (ab[hi + 1] - ab[lo + 1]) * xs.w[x];
    }
  }
  const { labToBytes } = lab;
  for (let y = y0; y < y1; y++) {
    const top = (ys.lo[y] - first) * width * 2;
    const bottom = (ys.hi[y] - first) * width * 2;
    const wy = ys.w[y];
    const row = (y - lFrom) * width;
    for (let x = 0, t = top, b = bottom, j = (y - y0) * width * 4; x < width; x++, t += 2, b += 2, j += 4) {
      const ta = across[t];
      const tb = across[t + 1];
      labToBytes(l[row + x], ta + (across[b] - ta) * wy, tb + (across[b + 1] - tb) * wy, out, j);
      out[j + 3] = alpha ? alpha[row + x] : 255;
    }
    if (breathe && y % 256 === 255) await breathe();
  }
}

// Photos under this many pixels are painted on the page's thread alone: sending rows to the
// worker costs more than it saves.
const SPLIT_PIXELS = 1 << 16;

/** Paints photos, the lower rows of a large one on a worker when the browser has one and more
 * than one core; each photo's L (and alpha) goes to the worker once. */
export class Painter {
  /** `lab`: makeLab(colorConstants) when the caller has it already (the worker makes its own). */
  constructor(colorConstants, lab = makeLab(colorConstants)) {
    this.lab = lab;
    this.constants = colorConstants;
    this.worker = null; // made on the first large photo; false where none can be
    this.sent = null; // the L array whose rows the worker holds
    this.calls = new Map();
    this.nextCall = 0;
  }

  /** RGBA bytes of a photo ({width, height, alpha}) with L ([H*W]) joined with a*b* at
   * abH x abW. `breathe`: awaited now and then on the page's thread (to let it repaint). */
  async paint(ab, abH, abW, photo, l, breathe = null) {
    const { width, height, alpha } = photo;
    const color = new Uint8ClampedArray(width * height * 4);
    const worker = width * height >= SPLIT_PIXELS ? this.ensureWorker() : null;
    if (!worker) {
      await paintRows(this.lab, ab, abH, abW, l, alpha, width, height, 0, height, color, 0, breathe);
      return color;
    }
    const middle = height >> 1;
    if (this.sent !== l) {
      const from = middle * width; // the worker's rows only
      const rows = { kind: "photo", width, l: l.slice(from), alpha: alpha ? alpha.slice(from) : null, from: middle };
      worker.postMessage(rows, rows.alpha ? [rows.l.buffer, rows.alpha.buffer] : [rows.l.buffer]);
      this.sent = l;
    }
    const id = this.nextCall++;
    const lower = new Promise((resolve, reject) => this.calls.set(id, { resolve, reject }));
    const copy = Float64Array.from(ab);
    worker.postMessage({ kind: "paint", id, ab: copy, abH, abW, height, y0: middle }, [copy.buffer]);
    await paintRows(this.lab, ab, abH, abW, l, alpha, width, height, 0, middle, color, 0, breathe);
    let bytes;
    try {
      bytes = await lower;
    } catch (e) { // the worker failed: paint its rows here, and from now on all of them
      console.warn("painting on one thread:", e);
      this.stopWorker();
      await paintRows(this.lab, ab, abH, abW, l, alpha, width, height, middle, height, color.subarray(middle * width * 4));
      return color;
    }
    color.set(bytes, middle * width * 4);
    return color;
  }

  ensureWorker() {
    if (this.worker !== null) return this.worker;
    this.worker = false;
    if (typeof Worker === "undefined" || (navigator.hardwareConcurrency || 1) < 2) return false;
    try {
      const worker = new Worker(new URL("./paint_worker.js", import.meta.url), { type: "module" });
      worker.onmessage = ({ data }) => {
        const call = this.calls.get(data.id);
        this.calls.delete(data.id);
        if (data.error) call.reject(new Error(data.error));
        else call.resolve(data.bytes);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        for (const call of this.calls.values()) call.reject(new Error(event.message || "the paint worker failed"));
        this.calls.clear();
      };
      worker.postMessage({ kind: "constants", constants: this.constants });
      this.worker = worker;
    } catch (e) {
      console.warn("no paint worker:", e);
    }
    return this.worker;
  }

  stopWorker() {
    if (this.worker) this.worker.terminate();
    this.worker = false;
    this.sent = null;
  }
}
