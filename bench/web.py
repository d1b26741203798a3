"""The browser page (tfcolor.export --web) against the Python TFLite runtime, on one machine:
seconds per photo in headless Chromium (WebAssembly) and with ai-edge-litert, network sizes
256 and 512 by default (the shipped generator rebuilt at that size, --render_size), the page's load time
and the bytes it loads.

    python -m bench.web                                   # the shipped model
    python -m bench.web --sizes=96 --screenshot=docs/web_page.png   # the README's picture (at the shipped size)

Photos: scikit-image's astronaut (512x512) and two real photos of Debian's
lomiri-wallpapers-20.04 package (fetched with apt-get download here, never in tests) at
1.5 and 24 megapixels. Both sides do the whole job per photo: decode the file, colourise at
the photo's resolution, encode the PNG. Python: tfcolor.deploy.colorizer.read_photo, the
.tflite file's ``colorize`` signature (the colour conversion and resizes inside TFLite) with
1 and with all threads, Pillow's PNG encoder. The page: window.tfcolor.colorizeTimed (the
browser's decoder, LiteRT.js's WebAssembly for the network on every core (the page isolates
itself with coi.js), lab.js around it, the canvas's PNG encoder; its time per stage is printed
too; the gray "before" image of the slider is made after, outside the timed path).
"""

import argparse
import base64
import io
import json
import os
import time

import numpy as np

from bench.common import ROOT, cpu_model

WALLPAPERS = "lomiri-wallpapers-20.04"
BIG = "usr/share/backgrounds/Painting-Colors_by__herobrine7gamer.jpg"  # 6000x4000


def bench_photos(work):
    """[(label, path)]: 0.26, 1.5 and 24 megapixel real photos."""
    from PIL import Image

    import skimage.data

    from bench.sources import unpack

    os.makedirs(work, exist_ok=True)
    small = os.path.join(work, "astronaut_512.jpg")
    Image.fromarray(skimage.data.astronaut()).save(small, quality=92)
    big = os.path.join(unpack(WALLPAPERS, work), BIG)
    medium = os.path.join(work, "painting_1500x1000.jpg")
    Image.open(big).convert("RGB").resize((1500, 1000), Image.LANCZOS).save(medium, quality=92)
    return [("512x512", small), ("1500x1000", medium), ("6000x4000", big)]


def python_seconds(tflite_path, path, threads, repeats):
    """Median seconds of read + colorize + PNG encode with the .tflite file's colorize signature."""
    from PIL import Image

    from tfcolor.deploy import lite
    from tfcolor.deploy.colorizer import read_photo

    interp = lite.interpreter(tflite_path, threads)
    times = []
    for _ in range(repeats + 1):  # the first call sizes the tensors: not counted
        start = time.perf_counter()
        rgb, _ = read_photo(path)
        out = lite.colorize_with(interp, rgb)
        Image.fromarray(out).save(io.BytesIO(), format="PNG", compress_level=1)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def page_seconds(page, path, repeats):
    """Median seconds (and the stages of that run) of window.tfcolor.colorizeTimed in the page."""
    data = base64.b64encode(open(path, "rb").read()).decode()
    page.evaluate("([name, data]) => { window.benchFile = new File([Uint8Array.from(atob(data), "
                  "(c) => c.charCodeAt(0))], name); }", [os.path.basename(path), data])
    runs = [page.evaluate("async () => { const r = await window.tfcolor.colorizeTimed(window.benchFile); "
                          "return {seconds: r.seconds, stages: r.stages}; }") for _ in range(repeats + 1)]
    runs = sorted(runs[1:], key=lambda r: r["seconds"])  # the first run warms the JIT: not counted
    return runs[len(runs) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="", help="training run (default: the shipped model)")
    parser.add_argument("--sizes", default="256,512", help="network sizes (--render_size)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "web"))
    parser.add_argument("--screenshot", default="", help="PNG of the page with a result (the README's picture)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tfcolor.core import shipped
    from tfcolor.deploy import lite, web
    from tfcolor.deploy.serving import load_generator

    work = os.path.abspath(args.work_dir)
    photos = bench_photos(work)
    results = {"cpu": cpu_model(), "cores": os.cpu_count(), "sizes": {}}
    print(f"CPU: {results['cpu']}, {results['cores']} cores")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=web.CHROMIUM, args=list(web.CHROMIUM_ARGS))
        results["browser"] = browser.version
        for size in [int(s) for s in args.sizes.split(",")]:
            generator, _ = load_generator(args.model or shipped.default_model(), render_size=size)
            site = os.path.join(work, f"site{size}")
            files = web.write_site(generator, size, site, shipped.NAME, log=lambda m: None,
                                   refiner=web.cached_refiner(args.model or shipped.default_model(), log=lambda m: None))
            tflite_path = os.path.join(work, f"colorize{size}.tflite")
            with open(tflite_path, "wb") as f:
                f.write(lite.convert(generator, size, "fp32"))
            row = {"site_bytes": sum(files.values()), "model_bytes": files[web.MODEL], "photos": {}}
            with web.serve(site) as url:
                page = browser.new_page()
                start = time.perf_counter()
                page.goto(url)  # the first visit registers coi.js and reloads once
                page.wait_for_function("window.tfcolor !== undefined")
                page.evaluate("window.tfcolor.ready.then(() => true)")
                row["load_seconds"] = time.perf_counter() - start
                row["loaded_bytes"] = page.evaluate(
                    "performance.getEntriesByType('resource').reduce((n, e) => n + e.encodedBodySize, 0) + "
                    "performance.getEntriesByType('navigation')[0].encodedBodySize")
                info = page.evaluate("window.tfcolor.info()")
                row["accelerator"], row["threads"] = info["accelerator"], info["threads"]
                for label, path in photos:
                    measured = page_seconds(page, path, args.repeats)
                    row["photos"][label] = {
                        "page": measured["seconds"], "page_stages": measured["stages"],
                        "python_1_thread": python_seconds(tflite_path, path, 1, args.repeats),
                        "python_all_threads": python_seconds(tflite_path, path, os.cpu_count(), args.repeats)}
                    r = row["photos"][label]
                    stages = ", ".join(f"{k} {v:.3f}" for k, v in measured["stages"].items())
                    print(f"size {size} {label}: page {r['page']:.3f} s ({stages}); Python TFLite "
                          f"{r['python_1_thread']:.3f} s (1 thread), {r['python_all_threads']:.3f} s "
                          f"({os.cpu_count()} threads); page / Python {r['page'] / r['python_all_threads']:.2f}x",
                          flush=True)
                if args.screenshot and size == int(args.sizes.split(",")[0]):
                    page.set_viewport_size({"width": 1100, "height": 820})
                    page.set_input_files("#files", [photos[0][1]])
                    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Done')")
                    page.screenshot(path=args.screenshot)
                    print(f"wrote {args.screenshot}")
                page.close()
            print(f"size {size}: site {row['site_bytes'] / 1e6:.1f} MB on disk, the page loads "
                  f"{row['loaded_bytes'] / 1e6:.1f} MB in {row['load_seconds']:.2f} s ({row['accelerator']}, "
                  f"{row['threads']} threads)")
            results["sizes"][size] = row
        browser.close()
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"results: {os.path.join(work, 'results.json')}")


if __name__ == "__main__":
    main()
