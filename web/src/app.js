// The page: files in (picked or dropped), colour photos out (before/after slider, PNG
// download). "Edit colours": click the photo to place a hint (its
// colour starts as the colour shown there), drag it, change or delete it; the photo is coloured
// again at preview size as you edit; a reference photo ("colour it like this one") may be picked;
// hints save and load as JSON (tfcolor.core.hints' format).
// For scripts and tests: window.tfcolor.colorizeFile(file, hints) -> Promise of the colour PNG's
// bytes, the same bytes the download button gives.

import { Colorizer, NotAnImage, decode, encodePng } from "./colorizer.js";
import { HintError, parseColor, parseHints, referenceOf, toHex, toJson } from "./hints.js";
import * as lab from "./lab.js";

const PREVIEW_SIDE = 1600; // the long side (px) of the photo re-coloured while hints are edited

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wanted = params.get("accelerator") === "webgpu" ? "webgpu" : "wasm";

/** Makes the page cross-origin isolated through coi.js (for the threaded runtime): registers
 * it and reloads once. True when the page is about to reload. ?threads=1 opts out. */
async function isolate() {
  if (self.crossOriginIsolated || !self.isSecureContext || !("serviceWorker" in navigator)) return false;
  if (params.get("threads") === "1" || sessionStorage.getItem("tfcolor-isolation-tried")) return false;
  try {
    await navigator.serviceWorker.register("coi.js");
    await navigator.serviceWorker.ready;
  } catch (e) {
    console.warn("no service worker, one thread:", e);
    return false;
  }
  sessionStorage.setItem("tfcolor-isolation-tried", "1");
  location.reload();
  return true;
}

function setStatus(text) {
  $("status").textContent = text;
}

async function start() {
  const select = $("accelerator");
  select.value = wanted;
  if (!("gpu" in navigator) || !(await navigator.gpu.requestAdapter().catch(() => null))) {
    select.querySelector('option[value="webgpu"]').disabled = true;
    select.querySelector('option[value="webgpu"]').textContent += " (not in this browser)";
  }
  select.addEventListener("change", () => {
    params.set("accelerator", select.value);
    location.search = params.toString(); // the runtime is loaded once per page
  });
  let colorizer;
  try {
    colorizer = await Colorizer.load("./", wanted);
  } catch (e) {
    if (wanted !== "webgpu") throw e;
    console.warn("WebGPU failed, using WebAssembly:", e);
    colorizer = await Colorizer.load("./", "wasm");
  }
  select.value = colorizer.accelerator;
  const { name, size } = colorizer.config;
  const where = colorizer.accelerator === "wasm" ? `WebAssembly, ${colorizer.threads} thread${colorizer.threads > 1 ? "s" : ""}`
    : colorizer.accelerator;
  $("model").textContent = `model ${name}, ${size}×${size} px, on ${where}`;
  setStatus("Ready: drop photos.");
  return colorizer;
}

const reloading = await isolate();
const ready = reloading ? new Promise(() => {}) : start();

/** One file -> {png, l, alpha, width, height, seconds, stages: {stage: seconds}}; stage(name)
 * reports progress; `hints`: the JSON object of tfcolor.core.hints (points in the photo's
 * pixels as displayed). */
async function run(file, stage = () => {}, hints = null) {
  const colorizer = await ready;
  const marks = [];
  const mark = (name) => {
    marks.push([name, performance.now()]);
    stage(name);
  };
  mark("decoding");
  const photo = await decode(file);
  const points = hints ? parseHints(hints, photo.width, photo.height, file.name || "hints") : null;
  const reference = referenceOf(hints, file.name || "hints");
  const stats = reference ? await colorizer.referenceStats(reference) : null;
  const { color, l } = await colorizer.colorize(photo, mark, points, {}, stats);
  mark("encoding");
  const png = await encodePng(color, photo.width, photo.height);
  marks.push(["end", performance.now()]);
  const stages = {};
  for (let i = 0; i + 1 < marks.length; i++) stages[marks[i][0]] = (marks[i + 1][1] - marks[i][1]) / 1000;
  const seconds = (marks[marks.length - 1][1] - marks[0][1]) / 1000;
  return { png, l, color, photo, alpha: photo.alpha, width: photo.width, height: photo.height, seconds, stages };
}

/** The photo at most PREVIEW_SIDE px on its long side (itself when smaller) and its scale. */
async function preview(photo) {
  const scale = Math.min(1, PREVIEW_SIDE / Math.max(photo.width, photo.height));
  if (scale === 1) return { photo, scale };
  const width = Math.max(1, Math.round(photo.width * scale));
  const height = Math.max(1, Math.round(photo.height * scale));
  const full = new OffscreenCanvas(photo.width, photo.height);
  full.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(photo.rgba), photo.width, photo.height), 0, 0);
  const small = new OffscreenCanvas(width, height);
  const ctx = small.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(full, 0, 0, width, height);
  return { photo: { rgba: ctx.getImageData(0, 0, width, height).data, alpha: null, width, height }, scale };
}

function fileInput(accept, title) {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = accept;
  input.title = title;
  return input;
}

/** The hint editor of a card: markers over the colour photo, a list of the hints, save / load. */
function hintEditor(file, result, compare, after, download) {
  const colorizer = { current: null };
  const points = [];
  const state = { small: null, cache: {}, busy: false, again: false, url: null, shown: 0 };
  const box = document.createElement("div");
  box.className = "hints";
  const toggle = document.createElement("label");
  const check = document.createElement("input");
  check.type = "checkbox";
  toggle.append(check, " Edit colours (click the photo to place a hint)");
  const list = document.createElement("ul");
  const save = document.createElement("button");
  save.textContent = "Save hints";
  const load = fileInput(".json,application/json", "Load hints (JSON)");
  const timing = document.createElement("span");
  timing.className = "timing";
  const referenceInput = fileInput("image/*", "Reference photo: colour like this one");
  const clearReference = document.createElement("button");
  clearReference.textContent = "No reference";
  box.append(toggle, list, save, " Load hints: ", load, document.createElement("br"),
             " Reference photo (colour it like this one): ", referenceInput, " ", clearReference, " ", timing);
  // While editing, each colouring is drawn here over the photo (no PNG to encode on the way).
  const painted = document.createElement("canvas");
  painted.className = "painted";
  const layer = document.createElement("div");
  layer.className = "markers";
  compare.append(painted, layer);
  const colourAt = (x, y) => {
    const i = (Math.min(result.height - 1, Math.floor(y)) * result.width + Math.min(result.width - 1, Math.floor(x))) * 4;
    return toHex([result.color[i], result.color[i + 1], result.color[i + 2]]);
  };

  const small = async () => (state.small = state.small || (await preview(result.photo)));

  async function recolour() {
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    try {
      const c = colorizer.current || (colorizer.current = await ready);
      const { photo, scale } = await small();
      const scaled = points.map((p) => ({ ...p, x: p.x * scale, y: p.y * scale, radius: p.radius * scale }));
      const start = performance.now();
      const reference = state.reference ? state.reference.stats : null;
      const show = (color, final = true) => { // on the canvas over the photo at once; as its PNG after (the image)
        painted.width = photo.width;
        painted.height = photo.height;
        painted.getContext("2d").putImageData(new ImageData(color, photo.width, photo.height), 0, 0);
        const shown = ++state.shown;
        if (!final) return;
        encodePng(color, photo.width, photo.height).then((png) => {
          if (shown !== state.shown) return; // a later colouring is on its way
          if (state.url) URL.revokeObjectURL(state.url);
          state.url = URL.createObjectURL(new Blob([png], { type: "image/png" }));
          after.src = state.url;
        });
      };
      // Levin's colours first while the hint refiner runs (a model that has one).
      const { color } = await c.colorize(photo, () => {}, scaled, state.cache, reference, (draft) => {
        show(draft.color, false);
        timing.textContent = `${Math.round(performance.now() - start)} ms at ${photo.width}×${photo.height}, refining…`;
      });
      show(color);
      timing.textContent = `${Math.round(performance.now() - start)} ms at ${photo.width}×${photo.height}`;
    } catch (e) {
      timing.textContent = e instanceof HintError ? e.message : `could not colourise: ${e.message || e}`;
      if (!(e instanceof HintError)) console.error(e);
    } finally {
      state.busy = false;
    }
    if (state.again) {
      state.again = false;
      await recolour();
    }
  }

  function render() {
    list.replaceChildren();
    layer.replaceChildren();
    points.forEach((p, i) => {
      const item = document.createElement("li");
      const picker = document.createElement("input");
      picker.type = "color";
      picker.value = p.color;
      picker.addEventListener("input", () => {
        p.rgb = parseColor(picker.value);
        p.color = picker.value;
        marker.style.background = p.color;
        recolour();
      });
      const remove = document.createElement("button");
      remove.textContent = "Delete";
      remove.addEventListener("click", () => {
        points.splice(i, 1);
        render();
        recolour();
      });
      item.append(`(${Math.round(p.x)}, ${Math.round(p.y)}) `, picker, " ", remove);
      list.append(item);
      const marker = document.createElement("div");
      marker.className = "marker";
      marker.style.left = `${(100 * p.x) / result.width}%`;
      marker.style.top = `${(100 * p.y) / result.height}%`;
      marker.style.background = p.color;
      marker.title = "drag to move";
      marker.addEventListener("pointerdown", (event) => {
        event.preventDefault();
        event.stopPropagation();
        marker.setPointerCapture(event.pointerId);
        const move = (e) => {
          const rect = after.getBoundingClientRect();
          p.x = Math.min(result.width, Math.max(0, ((e.clientX - rect.left) / rect.width) * result.width));
          p.y = Math.min(result.height, Math.max(0, ((e.clientY - rect.top) / rect.height) * result.height));
          marker.style.left = `${(100 * p.x) / result.width}%`;
          marker.style.top = `${(100 * p.y) / result.height}%`;
          recolour();
        };
        marker.addEventListener("pointermove", move);
        marker.addEventListener("pointerup", () => {
          marker.removeEventListener("pointermove", move);
          render();
        }, { once: true });
      });
      layer.append(marker);
    });
  }

  check.addEventListener("change", async () => {
    compare.classList.toggle("editing", check.checked);
    if (!check.checked) return;
    // What the first hint needs, made while the user aims (a model whose hints are propagated).
    const c = colorizer.current || (colorizer.current = await ready);
    const { photo } = await small();
    c.prepareHints(photo, state.cache, state.reference); // (not awaited: colorize waits for it)
  });
  referenceInput.addEventListener("change", async () => {
    const [picked] = referenceInput.files;
    if (!picked) return;
    try {
      const c = colorizer.current || (colorizer.current = await ready);
      state.reference = { file: picked, stats: await c.referenceStats(picked) };
      check.checked = true;
      compare.classList.add("editing");
      recolour();
    } catch (e) {
      referenceInput.value = "";
      timing.textContent = e instanceof HintError ? e.message : String(e);
    }
  });
  clearReference.addEventListener("click", () => {
    state.reference = null;
    referenceInput.value = "";
    recolour();
  });
  layer.addEventListener("click", (event) => {
    if (!check.checked) return;
    const rect = after.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * result.width;
    const y = ((event.clientY - rect.top) / rect.height) * result.height;
    const color = colourAt(x, y);
    points.push({ x, y, radius: 0, rgb: parseColor(color), color });
    render();
    recolour();
  });
  save.addEventListener("click", () => {
    const a = document.createElement("a");
    const json = toJson(points, state.reference ? state.reference.file.name : null);
    a.href = URL.createObjectURL(new Blob([JSON.stringify(json, null, 1)], { type: "application/json" }));
    a.download = `${file.name.replace(/\.[^.]*$/, "") || "photo"}.json`;
    a.click();
  });
  load.addEventListener("change", async () => {
    const [json] = load.files;
    load.value = "";
    if (!json) return;
    try {
      const hints = JSON.parse(await json.text());
      const loaded = parseHints(hints, result.width, result.height, json.name);
      points.splice(0, points.length, ...loaded);
      check.checked = true;
      compare.classList.add("editing");
      render();
      await recolour();
      const named = referenceOf(hints, json.name);
      // A page cannot open a file by its name: the user picks it.
      if (typeof named === "string" && !(state.reference && state.reference.file.name === named)) {
        timing.textContent = `${json.name} names the reference photo ${named}: pick it above`;
      }
    } catch (e) {
      timing.textContent = e instanceof HintError || e instanceof SyntaxError ? `${json.name}: ${e.message}` : String(e);
    }
  });
  // The download gives the full-size photo with the hints.
  download.hintJson = () => (points.length || state.reference
    ? { ...toJson(points), ...(state.reference ? { reference: state.reference.file } : {}) } : null);
  return box;
}

function card(file) {
  const element = document.createElement("div");
  element.className = "card";
  const title = document.createElement("h2");
  title.textContent = file.name;
  element.append(title);
  $("results").prepend(element);
  return element;
}

async function grayUrl(rgba, width, height) {
  return URL.createObjectURL(new Blob([await encodePng(rgba, width, height)], { type: "image/png" }));
}

async function show(file, element, result) {
  const colorUrl = URL.createObjectURL(new Blob([result.png], { type: "image/png" }));
  const compare = document.createElement("div");
  compare.className = "compare";
  const after = new Image();
  after.src = colorUrl;
  after.alt = `${file.name} in colour`;
  const before = new Image();
  const gray = (await ready).grayRgba(result.l, result.alpha);
  before.src = await grayUrl(gray, result.width, result.height);
  before.alt = `${file.name} as the model sees it (gray)`;
  before.className = "before";
  const line = document.createElement("div");
  line.className = "line";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = "100";
  slider.value = "50";
  slider.setAttribute("aria-label", "before / after");
  slider.addEventListener("input", () => {
    before.style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`;
    line.style.left = `${slider.value}%`;
  });
  compare.append(after, before, line, slider);
  const download = document.createElement("button");
  download.textContent = "Download PNG";
  download.className = "download";
  const stem = file.name.replace(/\.[^.]*$/, "") || "photo";
  download.addEventListener("click", async () => {
    const hints = download.hintJson ? download.hintJson() : null;
    const a = document.createElement("a");
    a.href = hints ? URL.createObjectURL(new Blob([(await run(file, () => {}, hints)).png], { type: "image/png" }))
      : colorUrl;
    a.download = `${stem}_color.png`;
    a.click();
  });
  const editor = (await ready).acceptsHints ? hintEditor(file, result, compare, after, download) : null;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${result.width}×${result.height} px, ${result.seconds.toFixed(2)} s. Left: gray, right: colour.`;
  element.append(compare, document.createElement("br"), download, meta);
  if (editor) element.append(editor);
}

async function handle(files) {
  const list = [...files];
  const progress = $("progress");
  progress.max = list.length;
  progress.value = 0;
  let done = 0;
  for (const file of list) {
    const element = card(file);
    const where = `${done + 1} of ${list.length}: ${file.name}`;
    try {
      const result = await run(file, (stage) => setStatus(`${where}: ${stage}…`));
      await show(file, element, result);
    } catch (e) {
      element.classList.add("error");
      const message = document.createElement("p");
      message.className = "message";
      message.textContent = e instanceof NotAnImage ? e.message : `${file.name}: could not colourise (${e.message || e})`;
      element.append(message);
      if (!(e instanceof NotAnImage)) console.error(e);
    }
    done += 1;
    progress.value = done;
  }
  setStatus(`Done: ${done} photo${done === 1 ? "" : "s"}. Drop more.`);
}

$("files").addEventListener("change", (event) => {
  handle(event.target.files);
  event.target.value = "";
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  handle(event.dataTransfer.files);
});

ready.catch((e) => {
  setStatus(`The model could not be loaded: ${e.message || e}`);
  console.error(e);
});

if (!reloading) {
  window.tfcolor = {
    ready,
    lab,
    /** File or Blob (and optional hints, the JSON object of tfcolor.core.hints) ->
     * Promise<Uint8Array>: the colour photo's PNG bytes. */
    colorizeFile: async (file, hints = null) => (await run(file, () => {}, hints)).png,
    /** The hint channels [S*S*3] of points on a photo of height x width (for tests). */
    hintChannels: async (hints, height, width) => {
      const colorizer = await ready;
      const { hintChannels } = await import("./hints.js");
      const points = parseHints(hints, width, height);
      return Array.from(hintChannels(points, height, width, colorizer.size, colorizer.lab, colorizer.config.color.ab_scale));
    },
    /** File or Blob -> Promise of {png, width, height, seconds, stages} (for bench/web.py). */
    colorizeTimed: async (file) => {
      const { png, width, height, seconds, stages } = await run(file);
      return { png, width, height, seconds, stages };
    },
    /** The model's name, size and accelerator, once ready. */
    info: async () => {
      const colorizer = await ready;
      return { ...colorizer.config, color: undefined, accelerator: colorizer.accelerator, threads: colorizer.threads };
    },
  };
}
