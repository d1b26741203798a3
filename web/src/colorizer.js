// The colouriser of the page: a photo file -> the colour photo at its own resolution, as
// tfcolor.deploy.inference.colorize does it in Python. The network (model.tflite: L/50 - 1
// [1, S, S, 1] in, ab/110 [1, S, S, 2] out) runs in LiteRT.js; decoding, Lab, the resizes
// and PNG encoding run here, in the browser. Nothing leaves the machine.

import { loadAndCompile, loadLiteRt, Tensor, unloadLiteRt } from "@litertjs/core";
import { hintChannels, HintError } from "./hints.js";
import { bilinearAxis, makeLab, shrink } from "./lab.js";

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
      const model = await loadAndCompile(new URL(config.model, root).href, {
        accelerator,
        cpuOptions: { numThreads: threads },
      });
      return new Colorizer(model, config, accelerator, threads);
    } catch (e) {
      unloadLiteRt(); // so that the caller may try again, e.g. on WebAssembly after WebGPU
      throw e;
    }
  }

  constructor(model, config, accelerator, threads = 1) {
    this.model = model;
    this.config = config;
    this.size = config.size;
    this.takesHints = Boolean(config.hints); // a hint generator: L, then hint a*b* and mask
    this.accelerator = accelerator;
    this.threads = threads;
    this.lab = makeLab(config.color);
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
   * L (for grayRgba). onStage(name) reports progress. `points`: user hints (parseHints), for a
   * hint generator. `cache`: an object kept between calls on the same photo (its L is reused). */
  async colorize(photo, onStage = () => {}, points = null, cache = {}) {
    const { rgba, alpha, width, height } = photo;
    const S = this.size;
    if (points && points.length && !this.takesHints) {
      throw new HintError("this model takes no hints: export a model trained with --hints");
    }
    // Re-colouring the same photo (the hint editor) does not yield to the page on the way: each
    // pause costs a timer tick (4 ms or more), and nothing waits for a progress line then.
    const breathe = cache.l ? () => Promise.resolve() : pause;
    onStage("lightness");
    if (!cache.l) {
      cache.l = this.lab.lightness(rgba);
      cache.lSmall = shrink(cache.l, height, width, S);
      await pause();
    }
    const { l, lSmall } = cache;
    onStage("network");
    const channels = points && points.length
      ? hintChannels(points, height, width, S, this.lab, this.config.color.ab_scale) : null;
    const ab = await this.predictAb(lSmall, channels);
    await breathe();
    onStage("colour");
    const color = new Uint8ClampedArray(width * height * 4);
    const ys = bilinearAxis(S, height);
    const xs = bilinearAxis(S, width);
    const { labToBytes } = this.lab;
    for (let y = 0; y < height; y++) {
      const top = ys.lo[y] * S;
      const bottom = ys.hi[y] * S;
      const wy = ys.w[y];
      for (let x = 0; x < width; x++) {
        // ab at (y, x): tf.image.resize's bilinear weights, as inference.colorize.
        const tl = (top + xs.lo[x]) * 2;
        const tr = (top + xs.hi[x]) * 2;
        const bl = (bottom + xs.lo[x]) * 2;
        const br = (bottom + xs.hi[x]) * 2;
        const wx = xs.w[x];
        const ta = ab[tl] + (ab[tr] - ab[tl]) * wx;
        const ba = ab[bl] + (ab[br] - ab[bl]) * wx;
        const tb = ab[tl + 1] + (ab[tr + 1] - ab[tl + 1]) * wx;
        const bb = ab[bl + 1] + (ab[br + 1] - ab[bl + 1]) * wx;
        const i = y * width + x;
        const j = i * 4;
        labToBytes(l[i], ta + (ba - ta) * wy, tb + (bb - tb) * wy, color, j);
        color[j + 3] = alpha ? alpha[i] : 255;
      }
      if (y % 256 === 255) await breathe();
    }
    return { color, l };
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
