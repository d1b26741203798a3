"""A static web page that colourises photos in the browser (``tfcolor.export --web=DIR``).

The site holds the page (``web/src``: index.html, app.js, colorizer.js, hints.js, lab.js, levin.js,
paint.js, paint_worker.js, coi.js, style.css), the bare network as a fixed-shape .tflite file (fp32, or fp16 for float16 weights;
L/50 - 1 [1, S, S, 1] -> ab/110 [1, S, S, 2], a hint generator's [1, S, S, 4] with the hint
channels that hints.js builds: LiteRT.js takes no dynamic shape, and image ops
cannot run in it), for a model with a hint refiner that too (``hint_refiner.tflite``, run after
levin.js), the LiteRT.js runtime copied from the project's own npm package (``web/``,
installed with ``npm ci``) and ``tfcolor.json``: the model's size and the colour constants of
tfcolor.core.color, so that the page's Lab conversion uses the very numbers Python uses.
Everything the page loads is in the folder: it works offline from any static server.
"""

import contextlib
import json
import os
import shutil
import subprocess

from tfcolor.core import color, shipped

WEB = os.path.join(shipped.REPO, "web")  # package.json, package-lock.json, src/
PAGE_FILES = ("index.html", "app.js", "colorizer.js", "hints.js", "lab.js", "levin.js", "paint.js", "paint_worker.js",
              "coi.js", "style.css")
CONFIG = "tfcolor.json"
MODEL = "model.tflite"
REFINER = "hint_refiner.tflite"  # the model's hint refiner (tfcolor.models.hint_refiner), when it has one
RUNTIME = "litert/wasm/"  # the LiteRT.js wasm folder inside the site
# Runtime files: (inside web/node_modules, inside the site). A browser loads one wasm build:
# threaded (relaxed SIMD and a cross-origin isolated page, which coi.js makes), plain (relaxed
# SIMD), compat (no relaxed SIMD) or JSPI (WebGPU).
RUNTIME_FILES = (("@litertjs/core/dist/index.js", "litert/core/index.js"),
                 ("@litertjs/wasm-utils/dist/index.js", "litert/wasm-utils/index.js"),
                 *((f"@litertjs/core/wasm/litert_wasm_{build}internal.{ext}", f"{RUNTIME}litert_wasm_{build}internal.{ext}")
                   for build in ("", "compat_", "jspi_", "threaded_") for ext in ("js", "wasm")))


def node_modules(web=WEB, log=print):
    """web/node_modules, installed with ``npm ci`` (the versions of package-lock.json) when
    missing; FileNotFoundError saying what to do without npm."""
    modules = os.path.join(web, "node_modules")
    if all(os.path.exists(os.path.join(modules, src)) for src, _ in RUNTIME_FILES):
        return modules
    if not os.path.exists(os.path.join(web, "package-lock.json")):
        raise FileNotFoundError(f"{web}/package-lock.json not found: the web page's files come with a clone of "
                                "the tfcolor repository")
    npm = shutil.which("npm")
    if not npm:
        raise FileNotFoundError(f"the LiteRT.js runtime is not installed in {modules}: run `npm ci --prefix {web}` "
                                "(Node.js and npm needed)")
    log(f"installing LiteRT.js: npm ci --prefix {web}")
    subprocess.run([npm, "ci", "--prefix", web, "--no-audit", "--no-fund", "--ignore-scripts"], check=True,
                   stdout=subprocess.DEVNULL)
    return modules


def network_variant(generator):
    """The page's network: fp32, or fp16 (half the download) when its weights are float16 values
    already (a generator stored with float16 weights, such as the shipped one)."""
    from tfcolor.models import storage

    return "fp16" if storage.holds_half(generator) else "fp32"


def cached_network(model_dir, generator, model_size, log=print):
    """The page's network of a run folder as loaded by ``serving.load_generator(model_dir)``
    (``generator``, ``model_size``), kept in tfcolor.deploy.quick's cache: converted once per
    machine. None when the cache folder cannot be written (then write_site converts it)."""
    from tfcolor.deploy import quick

    try:
        with open(quick.network_file(model_dir, log, network_variant(generator), (generator, model_size)), "rb") as f:
            return f.read()
    except OSError as e:
        log(f"not cached ({e}); converting the network")
        return None


def cached_refiner(model_dir, log=print):
    """The .tflite bytes of a run folder's hint refiner from tfcolor.deploy.quick's cache
    (converted once per machine); None when it has none or the cache cannot be written."""
    from tfcolor.deploy import quick

    try:
        path = quick.refiner_file(model_dir, log) if model_dir else None
    except OSError as e:
        log(f"not cached ({e}); converting the hint refiner")
        return None
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def write_site(generator, model_size, directory, name, web=WEB, log=print, network=None, refiner=None):
    """Writes the static site into ``directory``; returns {file: bytes} of what it wrote.
    ``network``: the .tflite bytes of ``lite.convert_network(generator, model_size,
    network_variant(generator))`` when converted already (tfcolor.deploy.quick's cache).
    ``refiner``: the model's hint refiner, a Keras model or its .tflite bytes
    (``lite.convert_refiner``), or None."""
    from tfcolor.deploy import hinting, lite
    from tfcolor.models.hint_inputs import takes_hints

    modules = node_modules(web, log=log)
    os.makedirs(directory, exist_ok=True)
    for page_file in PAGE_FILES:
        shutil.copy(os.path.join(web, "src", page_file), os.path.join(directory, page_file))
    for src, dst in RUNTIME_FILES:
        os.makedirs(os.path.dirname(os.path.join(directory, dst)), exist_ok=True)
        shutil.copy(os.path.join(modules, src), os.path.join(directory, dst))
    variant = network_variant(generator)
    with open(os.path.join(directory, MODEL), "wb") as f:
        f.write(network or lite.convert_network(generator, model_size, variant))
    propagation = {"size": hinting.PROPAGATION_SIZE, "reference_prior_weight": hinting.REFERENCE_PRIOR_WEIGHT,
                   "reference_most": hinting.REFERENCE_MOST}
    refined = refiner is not None and not takes_hints(generator)
    if refined:
        with open(os.path.join(directory, REFINER), "wb") as f:
            f.write(refiner if isinstance(refiner, bytes) else lite.convert_refiner(refiner))
        propagation["refiner"] = REFINER
    elif os.path.exists(os.path.join(directory, REFINER)):
        os.remove(os.path.join(directory, REFINER))  # an earlier model's: this one has none
    with open(os.path.join(directory, CONFIG), "w") as f:
        json.dump({"name": name, "size": int(model_size), "model": MODEL, "runtime": RUNTIME,
                   "hints": takes_hints(generator), "color": color.constants(),
                   # the page's Levin propagation of hints for a model without hint inputs (levin.js)
                   "propagation": propagation}, f, indent=1)
    written = [*PAGE_FILES, *(dst for _, dst in RUNTIME_FILES), MODEL, *([REFINER] if refined else []), CONFIG]
    sizes = {file: os.path.getsize(os.path.join(directory, file)) for file in written}
    wasm = [sizes[dst] for _, dst in RUNTIME_FILES if dst.endswith(".wasm")]
    log(f"wrote the web page to {directory}: {len(sizes)} files, {sum(sizes.values()) / 1e6:.1f} MB "
        f"(model {sizes[MODEL] / 1e6:.1f} MB, {variant}; a browser loads one wasm build of "
        f"{sum(wasm) / len(wasm) / 1e6:.1f} MB); serve it with: python -m http.server -d {directory}")
    return sizes


# Debian's Chromium, driven by Playwright (which then downloads no browser of its own). The
# flags keep it off a network it has no use for (the page is served on 127.0.0.1).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic")


@contextlib.contextmanager
def serve(directory):
    """A static file server for ``directory`` on 127.0.0.1 (a free port), in a thread; yields
    its base URL. The page needs nothing more than this (as python -m http.server)."""
    import http.server
    import threading

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
