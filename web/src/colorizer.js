// The colouriser of the page: a photo file -> the colour photo at its own resolution, as
// tfcolor.deploy.inference.colorize does it in Python. The network (model.tflite: L/50 - 1
// [1, S, S, 1] in, ab/110 [1, S, S, 2] out) runs in LiteRT.js; decoding, Lab, the resizes
// and PNG encoding run here, in the browser. Nothing leaves the machine. User hints: a hint
// generator reads them as input channels; any other model's page propagates them along the
// photo's edges (levin.js), then corrects that with the model's hint refiner when it has one
// (hint_refiner.tflite: tfcolor.models.hint_refiner), as tfcolor.deploy.hinting does.

import { loadAndCompile, loadLiteRt, Tensor, unloadLiteRt } from "@litertjs/core";
import { hintChannels, hintMap, HintError } from "./hints.js";
import { makeLab, shrink } from "./lab.js";
import * as levin from "./levin.js";
import { Painter } from "./paint.js";

export class NotAnImage extends Error {}

/** Decoded photo: flattened RGBA bytes (alpha composited on white, as tfcolor does), the
 * alpha channel when the photo has transparency (else null), width and height. EXIF
 * rotation is applied by the browser (imageOrientation: "from-image"). */
export async function decode(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image", premultiplyAlpha: "none" });
  } catch (e) {
    throw new NotAnImage(`${file.name || "this file"} is not an image the browser can read (JPEG, PNG, WebP...)`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const raw = ctx.getImageData(0, 0, width, height).data;
  let alpha = null;
  for (let i = 3; i < raw.length; i += 4) {
    if (raw[i] !== 255) {
      alpha = new Uint8ClampedArray(width * height);
      break;
    }
  }
  let rgba = raw;
  if (alpha) {
    for (let i = 0, j = 3; i < alpha.length; i++, j += 4) alpha[i] = raw[j];
    ctx.globalCompositeOperation = "destination-over"; // white under the photo
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    rgba = ctx.getImageData(0, 0, width, height).data;
  }
  bitmap.close();
  return { rgba, alpha, width, height };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 0)); // lets the page repaint

export class Colorizer {
  /** Loads the runtime and the model described by tfcolor.json (written by tfcolor.export --web).
   * On WebAssembly in a cross-origin isolated page (see coi.js) the network runs on several
   * threads (LiteRT.js's threaded build), else on one. */
  static async load(base = "./", accelerator = "wasm") {
    const root = new URL(base, location.href);
    const config = await (await fetch(new URL("tfcolor.json", root))).json();
    const runtime = new URL(config.runtime, root).href;
    let threads = 1;
    try {
      if (accelerator === "webgpu") {
        await loadLiteRt(runtime, { jspi: true });
      } else if (self.crossOriginIsolated && (navigator.hardwareConcurrency || 1) > 1) {
        try {
          await loadLiteRt(runtime, { threads: true });
          threads = Math.min(navigator.hardwareConcurrency, 8);
        } catch (e) {
          console.warn("threaded WebAssembly unavailable, using one thread:", e);
          unloadLiteRt();
          await loadLiteRt(runtime);
        }
      } else {
        await loadLiteRt(runtime);
      }
      const options = { accelerator, cpuOptions: { numThreads: threads } };
      const model = await loadAndCompile(new URL(config.model, root).href, options);
      const refinerFile = config.propagation && config.propagation.refiner;
      const refiner = refinerFile ? await loadAndCompile(new URL(refinerFile, root).href, options) : null;
      return new Colorizer(model, config, accelerator, threads, refiner);
    } catch (e) {
      unloadLiteRt(); // so that the caller may try again, e.g. on WebAssembly after WebGPU
      throw e;
    }
  }

  constructor(model, config, accelerator, threads = 1, refiner = null) {
    this.model = model;
    this.refiner = refiner; // the hint refiner (a square of the propagation's size), or null
    this.config = config;
    this.size = config.size;
    this.takesHints = Boolean(config.hints); // a hint generator: L, then hint a*b* and mask
    // Else hints are propagated (levin.js) at this long side (px); a site without it takes none.
    this.propagationSize = config.propagation ? config.propagation.size : null;
    this.referenceMost = config.propagation ? config.propagation.reference_most : null; // hinting.REFERENCE_MOST
    this.acceptsHints = this.takesHints || Boolean(this.propagationSize);
    this.accelerator = accelerator;
    this.threads = threads;
    this.lab = makeLab(config.color);
    this.painter = new Painter(config.color, this.lab);
  }

  /** The network alone: L in natural units [S*S] (and a hint generator's hint channels
   * [S*S*3], none: zeros) -> ab in natural units [S*S*2]. */
  async predictAb(lSmall, channels = null) {
    const { l_scale: lScale, ab_scale: abScale } = this.config.color;
    const depth = this.takesHints ? 4 : 1;
    const input = new Float32Array(lSmall.length * depth);
    for (let i = 0; i < lSmall.length; i++) {
      input[i * depth] = lSmall[i] / lScale - 1;
      if (channels) for (let k = 1; k < depth; k++) input[i * depth + k] = channels[i * 3 + k - 1];
    }
    const tensor = new Tensor(input, [1, this.size, this.size, depth]);
    const outputs = await this.model.run(tensor);
    tensor.delete();
    const onCpu = await outputs[0].moveTo("wasm");
    const ab = Float32Array.from(onCpu.toTypedArray(), (v) => v * abScale);
    onCpu.delete();
    return ab;
  }

  /** A decoded photo -> {color, l}: RGBA bytes of the colourised photo at its size, and its
   * L (for grayRgba). onStage(name) reports progress. `points`: user hints (parseHints): a hint
   * generator's input, else propagated (the network is not run then, as in Python).
   * `reference`: the a*b* statistics of a reference photo (referenceStats), whose colours the
   * result takes. `cache`: an object kept between calls on the same photo (its L, its
   * propagation's system, its reference-like colours). `onDraft` (optional, for the hint
   * editor): with a hint refiner, called with Levin's colours ({color, l}) before the refiner
   * runs, so that a page shows them at once and the refined ones when this resolves.
   * As tfcolor.deploy.hinting.hinted. */
  async colorize(photo, onStage = () => {}, points = null, cache = {}, reference = null, onDraft = null) {
    const { rgba, width, height } = photo;
    const S = this.size;
    const hinted = Boolean(points && points.length);
    if ((hinted || reference) && !this.acceptsHints) {
      throw new HintError("this page takes no hints: export it again with python -m tfcolor.export --web");
    }
    // Re-colouring the same photo (the hint editor) does not yield to the page on the way: each
    // pause costs a timer tick (4 ms or more), and nothing waits for a progress line then.
    const breathe = cache.l ? () => Promise.resolve() : pause;
    onStage("lightness");
    if (!cache.l) {
      cache.l = this.lab.lightness(rgba);
      await pause();
    }
    const { l } = cache;
    const propagated = hinted && !this.takesHints;
    const { ab_scale: abScale } = this.config.color;
    const [h, w] = this.propagationSize ? levin.workingSize(height, width, this.propagationSize) : [0, 0];
    if (propagated && cache.levin && cache.levin.pending) await cache.levin.pending; // the editor's preparation
    const solve = async (prior = null) => {
      onStage("hints");
      const map = hintMap(points, height, width, h, w, this.lab, abScale);
      const weight = prior ? this.config.propagation.reference_prior_weight : 0;
      cache.levin = cache.levin || {};
      const ab = levin.propagate(l, height, width, h, w, map, abScale, cache.levin, prior, weight);
      if (prior || !this.refiner) return ab;
      if (onDraft) onDraft({ color: await this.paint(ab, h, w, photo, l, breathe), l });
      onStage("refiner");
      return this.refine(cache.levin.gray, ab, map, h, w);
    };
    if (propagated && !reference) return { color: await this.paint(await solve(), h, w, photo, l, breathe), l };
    const network = async (channels = null) => { // the network's colours at the photo's size
      onStage("network");
      cache.lSmall = cache.lSmall || shrink(l, height, width, S);
      return this.paint(await this.predictAb(cache.lSmall, channels), S, S, photo, l, breathe);
    };
    let color;
    if (reference && !this.takesHints) {
      // The model's colours moved to the reference's (kept for the next hint change).
      if (!cache.referenced || cache.referenced.reference !== reference) {
        cache.referenced = { reference, color: this.likeReference(l, await network(), reference), prior: null };
      }
      color = cache.referenced.color;
    } else {
      color = await network(hinted ? hintChannels(points, height, width, S, this.lab, abScale) : null);
      if (reference) color = this.likeReference(l, color, reference);
    }
    if (!propagated) return { color, l };
    // Points and a reference: Levin's propagation pulled towards the reference-like colours.
    const referenced = cache.referenced;
    if (!referenced.prior) {
      const ab = this.lab.abOfRgba(referenced.color);
      const channels = [0, 1].map((c) => levin.resizeArea(Float64Array.from({ length: l.length }, (_, i) => ab[i * 2 + c]),
                                                          height, width, h, w));
      referenced.prior = Float64Array.from({ length: h * w * 2 }, (_, i) => channels[i & 1][i >> 1] / abScale);
    }
    return { color: await this.paint(await solve(referenced.prior), h, w, photo, l, breathe), l };
  }

  /** hinting.refined: Levin's a*b* (natural units, [h*w*2]) of the working size's gray ([h*w],
   * L / 100) and hint map corrected by the hint refiner, which reads them (a*b* normalised) in
   * the top-left corner of its zero square (hint_refiner.square_input). */
  async refine(gray, ab, map, h, w) {
    const { ab_scale: abScale } = this.config.color;
    const side = this.config.propagation.size;
    const input = new Float32Array(side * side * 6);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const j = (y * side + x) * 6;
        input[j] = gray[i];
        input[j + 1] = ab[i * 2] / abScale;
        input[j + 2] = ab[i * 2 + 1] / abScale;
        input[j + 3] = map.ab[i * 2];
        input[j + 4] = map.ab[i * 2 + 1];
        input[j + 5] = map.mask[i];
      }
    }
    const tensor = new Tensor(input, [1, side, side, 6]);
    const outputs = await this.refiner.run(tensor);
    tensor.delete();
    const onCpu = await outputs[0].moveTo("wasm");
    const out = onCpu.toTypedArray();
    const refined = new Float32Array(h * w * 2);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const j = (y * side + x) * 2;
        refined[i * 2] = out[j] * abScale;
        refined[i * 2 + 1] = out[j + 1] * abScale;
      }
    }
    onCpu.delete();
    return refined;
  }

  /** RGBA bytes of a photo ({width, height, alpha}) with L ([H*W]) joined with a*b* given at
   * abH x abW ([abH*abW*2], natural units), resized with tf.image.resize's bilinear weights (as
   * inference.colorize): paint.js. */
  paint(ab, abH, abW, photo, l, breathe) {
    return this.painter.paint(ab, abH, abW, photo, l, breathe);
  }

  /** The a*b* mean and spread of a reference photo (a File, Blob or URL), read as
   * hinting.reference_ab reads it: shrunk (area) to the propagation's size, rounded to bytes. */
  async referenceStats(reference) {
    let blob = reference;
    const name = typeof reference === "string" ? reference : reference.name || "the reference photo";
    if (typeof reference === "string") {
      const response = await fetch(new URL(reference, location.href)).catch(() => null);
      if (!response || !response.ok) throw new HintError(`reference photo ${reference}: not found`);
      blob = await response.blob();
    }
    let photo;
    try {
      photo = await decode(blob);
    } catch (e) {
      throw new HintError(`reference photo ${name}: not an image the browser can read`);
    }
    const [h, w] = levin.workingSize(photo.height, photo.width, this.propagationSize);
    const small = new Uint8ClampedArray(h * w * 4);
    for (let c = 0; c < 3; c++) {
      const channel = Float64Array.from({ length: photo.width * photo.height }, (_, i) => photo.rgba[i * 4 + c] / 255);
      const resized = levin.resizeArea(channel, photo.height, photo.width, h, w);
      for (let i = 0; i < h * w; i++) small[i * 4 + c] = Math.round(Math.min(Math.max(resized[i], 0), 1) * 255);
    }
    return meanSpread(this.lab.abOfRgba(small));
  }

  /** hinting.like_reference: RGBA bytes of colours moved to a reference's a*b* statistics (per
   * channel shifted and scaled, the scale within 1/most and most), on the photo's L. */
  likeReference(l, color, reference) {
    const ab = this.lab.abOfRgba(color);
    const own = meanSpread(ab);
    const most = this.referenceMost;
    const scale = [0, 1].map((c) => Math.min(Math.max(reference.spread[c] / Math.max(own.spread[c], 1e-3), 1 / most), most));
    const out = new Uint8ClampedArray(color.length);
    const { labToBytes } = this.lab;
    for (let i = 0; i < l.length; i++) {
      const a = (ab[i * 2] - own.mean[0]) * scale[0] + reference.mean[0];
      const b = (ab[i * 2 + 1] - own.mean[1]) * scale[1] + reference.mean[1];
      labToBytes(l[i], a, b, out, i * 4);
      out[i * 4 + 3] = color[i * 4 + 3];
    }
    return out;
  }

  /** Makes the first hints on a photo quick, for a model whose hints are propagated: its L and
   * its propagation's factors (for a reference photo's pull, or none) go into `cache` (the one
   * colorize() then gets), the factorisation in slices that leave the page responsive; else
   * nothing. */
  async prepareHints(photo, cache, reference = null) {
    if (this.takesHints || !this.propagationSize) return;
    const { rgba, width, height } = photo;
    cache.l = cache.l || this.lab.lightness(rgba);
    const [h, w] = levin.workingSize(height, width, this.propagationSize);
    const shift = reference ? this.config.propagation.reference_prior_weight : levin.SHIFT;
    await levin.prepareGently(cache.l, height, width, h, w, (cache.levin = cache.levin || {}), shift, pause);
  }

  /** RGBA bytes of what the network sees of a photo (its L alone, a* = b* = 0), for display. */
  grayRgba(l, alpha) {
    const gray = new Uint8ClampedArray(l.length * 4);
    for (let i = 0, j = 0; i < l.length; i++, j += 4) {
      gray[j] = gray[j + 1] = gray[j + 2] = this.lab.grayByte(l[i]);
      gray[j + 3] = alpha ? alpha[i] : 255;
    }
    return gray;
  }
}

/** RGBA bytes -> PNG bytes (Uint8Array). */
export async function encodePng(rgba, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  const blob = await canvas.convertToBlob({ type: "image/png" });
  return new Uint8Array(await blob.arrayBuffer());
}

/** Mean and spread (standard deviation) of interleaved a*b* [N*2], per channel. */
function meanSpread(ab) {
  const n = ab.length / 2;
  const mean = [0, 0];
  const spread = [0, 0];
  for (let i = 0; i < n; i++) {
    mean[0] += ab[i * 2];
    mean[1] += ab[i * 2 + 1];
  }
  mean[0] /= n;
  mean[1] /= n;
  for (let i = 0; i < n; i++) {
    spread[0] += (ab[i * 2] - mean[0]) ** 2;
    spread[1] += (ab[i * 2 + 1] - mean[1]) ** 2;
  }
  return { mean, spread: spread.map((v) => Math.sqrt(v / n)) };
}
