"""What hints cost in time: `colorize` of one photo with 10 hint points against without, for the
shipped model (Levin's propagation) and a hint network (its hint channels), and the web page's
re-colouring after a hint change at preview size (long side 1600 px) for both, as its editor does
it (what the photo's propagation or network call can reuse kept between changes), in headless
Chromium.

    python -m bench.hints_speed --hint_model=runs/quality_more/runs/lite0_frozen_ema_hints

Photo: scikit-image's coffee resized to 1024 px on its long side (and the preview to 1600 px);
10 points by Zhang et al.'s test protocol. In-process times, the median of --repeats after one
warm-up call (tracing); the CPU model is printed.
"""

import argparse
import base64
import io
import os
import statistics
import tempfile

import numpy as np
from PIL import Image

from bench.common import call_seconds, cpu_model


def photo(long_side):
    import skimage.data

    image = Image.fromarray(skimage.data.coffee())
    scale = long_side / max(image.size)
    return np.asarray(image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.LANCZOS))


def median_seconds(fn, repeats):
    return statistics.median(call_seconds(fn, repeats))


def cli_rows(models, rgb, hints, repeats):
    from tfcolor.deploy.colorizer import load_colorizer

    rows = []
    for label, path in models:
        colorize, description = load_colorizer(path)
        auto = median_seconds(lambda: colorize(rgb), repeats)
        hinted = median_seconds(lambda: colorize.hinted(rgb, hints), repeats)
        rows.append((label, description, auto, hinted))
        print(f"{label}: {auto * 1000:.0f} ms without hints, {hinted * 1000:.0f} ms with 10 points "
              f"({hinted / auto:.2f}x)")
    return rows


def page_ms(model, hints_json, repeats):
    """Milliseconds of the editor's re-colourings at preview size, medians of ``repeats``: a hint
    moved, a hint's colour changed; for a model whose hints are propagated also the preparation
    the editor makes when it opens (levin.js's factorisation)."""
    from playwright.sync_api import sync_playwright

    from tfcolor.core import shipped
    from tfcolor.deploy import web
    from tfcolor.deploy.serving import load_generator

    generator, size = load_generator(model, render_size=96)
    site = tempfile.mkdtemp(prefix="hint_site_")
    web.write_site(generator, size, site, shipped.NAME, log=lambda message: None,
                   refiner=web.cached_refiner(model, log=lambda message: None))
    preview = photo(1600)
    buffer = io.BytesIO()
    Image.fromarray(preview).save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    with web.serve(site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=web.CHROMIUM, args=list(web.CHROMIUM_ARGS))
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("window.tfcolor !== undefined", timeout=90000)
        times = page.evaluate(
            """async ([data, hints, repeats]) => {
                 const { decode } = await import("./colorizer.js");
                 const { parseHints } = await import("./hints.js");
                 const colorizer = await window.tfcolor.ready;   // the page's own (all cores)
                 const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
                 const photo = await decode(new File([bytes], "p.png"));
                 const points = parseHints(hints, photo.width, photo.height);
                 const cache = {};
                 const times = { prepare: [], moved: [], colour: [], draft: [] };
                 for (let i = 0; i < repeats; i++) {
                   const start = performance.now();
                   await colorizer.prepareHints(photo, {});
                   times.prepare.push(performance.now() - start);
                 }
                 await colorizer.prepareHints(photo, cache);
                 await colorizer.colorize(photo, () => {}, points, cache);
                 for (let i = 0; i < repeats; i++) {
                   points[0].x = (points[0].x + 7) % photo.width;   // a hint moved
                   let start = performance.now();
                   await colorizer.colorize(photo, () => {}, points, cache, null,
                                            () => times.draft.push(performance.now() - start));
                   times.moved.push(performance.now() - start);
                   points[1].rgb = [(points[1].rgb[0] + 40) % 256, points[1].rgb[1], points[1].rgb[2]];  // recoloured
                   start = performance.now();
                   await colorizer.colorize(photo, () => {}, points, cache);
                   times.colour.push(performance.now() - start);
                 }
                 return times;
               }""", [data, hints_json, repeats])
        browser.close()
    return {k: statistics.median(v) for k, v in times.items() if v}, preview.shape


def main():
    from tfcolor.core import hints as hint_format, shipped

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--hint_model", default="", help="a hint network's run folder")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores")
    rgb = photo(1024)
    lab = hint_format.lab_of_rgb(rgb)
    hints = hint_format.Hints(hint_format.protocol_points(lab[..., 1:], 10, np.random.default_rng(0)))
    models = [("shipped model (Levin's propagation)", shipped.default_model())]
    if args.hint_model:
        models.append(("hint network", args.hint_model))
    cli_rows(models, rgb, hints, args.repeats)
    scale = 1600 / 1024
    scaled = hint_format.Hints(tuple(hint_format.Point(p.x * scale, p.y * scale, p.ab, p.radius * scale)
                                     for p in hints.points))
    for label, path in models:
        ms, shape = page_ms(path, scaled.to_json(), args.repeats)
        prepared = f"; {ms['prepare']:.0f} ms to prepare when the editor opens" if "network" not in label else ""
        draft = f" (Levin's colours shown after {ms['draft']:.0f} ms, then its hint refiner's)" if "draft" in ms else ""
        print(f"web page, {label}: at {shape[1]}x{shape[0]}, {ms['moved']:.0f} ms per re-colouring after a hint "
              f"moved{draft}, {ms['colour']:.0f} ms after a colour changed (medians of {args.repeats}){prepared}")

if __name__ == "__main__":
    main()
