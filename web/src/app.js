// The page: files in (picked or dropped), colour photos out (before/after slider, PNG
// download). For scripts and tests: window.tfcolor.colorizeFile(file) -> Promise of the
// colour PNG's bytes, the same bytes the download button gives.

import { Colorizer, NotAnImage, decode, encodePng } from "./colorizer.js";
import * as lab from "./lab.js";

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
 * reports progress. */
async function run(file, stage = () => {}) {
  const colorizer = await ready;
  const marks = [];
  const mark = (name) => {
    marks.push([name, performance.now()]);
    stage(name);
  };
  mark("decoding");
  const photo = await decode(file);
  const { color, l } = await colorizer.colorize(photo, mark);
  mark("encoding");
  const png = await encodePng(color, photo.width, photo.height);
  marks.push(["end", performance.now()]);
  const stages = {};
  for (let i = 0; i + 1 < marks.length; i++) stages[marks[i][0]] = (marks[i + 1][1] - marks[i][1]) / 1000;
  const seconds = (marks[marks.length - 1][1] - marks[0][1]) / 1000;
  return { png, l, alpha: photo.alpha, width: photo.width, height: photo.height, seconds, stages };
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
  download.addEventListener("click", () => {
    const a = document.createElement("a");
    a.href = colorUrl;
    a.download = `${stem}_color.png`;
    a.click();
  });
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${result.width}×${result.height} px, ${result.seconds.toFixed(2)} s. Left: gray, right: colour.`;
  element.append(compare, document.createElement("br"), download, meta);
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
    /** File or Blob -> Promise<Uint8Array>: the colour photo's PNG bytes. */
    colorizeFile: async (file) => (await run(file)).png,
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
