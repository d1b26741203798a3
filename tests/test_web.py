"""The browser page (tfcolor.export --web) in a real browser: Debian's Chromium driven by
Playwright, the page served on 127.0.0.1. Its colour math is checked against tfcolor's, and
its colour photos against `python -m tfcolor.colorize` of the same model on the same photos.

Without Chromium (or Playwright) the tests are skipped with a line saying how to install it,
except under CI (CI=true), where a missing browser fails the run."""

import base64
import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.conftest import perturb_refiner, photo, run_module
from tfcolor.deploy import web


def _missing(message):
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _need_runtime():
    """The LiteRT.js runtime installed, or npm to install it (web.node_modules)."""
    if not os.path.isdir(os.path.join(web.WEB, "node_modules")) and not shutil.which("npm"):
        _missing("no npm to install the LiteRT.js runtime (web/package-lock.json): install Node.js")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: pip install -e '.[test]'")
    if not os.path.exists(web.CHROMIUM):
        _missing(f"no Chromium at {web.CHROMIUM}: `apt-get install chromium` (Debian) runs the browser tests")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=web.CHROMIUM, args=list(web.CHROMIUM_ARGS))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab_page(browser):
    """A page that has imported web/src/lab.js (no model needed) as window.lab."""
    with web.serve(os.path.join(web.WEB, "src")) as url:
        page = browser.new_page()
        page.goto(url + "lab.js")
        page.evaluate("async () => { window.lab = await import(location.href); }")
        yield page
        page.close()


def test_lab_matches_tfcolor(lab_page):
    import skimage.color

    from tfcolor.core import color
    from tfcolor.deploy import inference

    rng = np.random.default_rng(0)
    rgb = np.concatenate([rng.integers(0, 256, (20000, 3)), np.repeat(np.arange(256)[:, None], 3, 1)]).astype(np.uint8)
    lab = rng.uniform([0, -110, -110], [100, 110, 110], (20000, 3))
    got = lab_page.evaluate(
        """([constants, rgb, lab]) => {
             const m = window.lab.makeLab(constants);
             const rgba = new Uint8Array(rgb.length / 3 * 4);
             for (let i = 0; i < rgb.length / 3; i++) rgba.set(rgb.slice(3 * i, 3 * i + 3), 4 * i);
             const bytes = new Uint8Array(lab.length);
             for (let i = 0; i < lab.length; i += 3) m.labToBytes(lab[i], lab[i + 1], lab[i + 2], bytes, i);
             return {l: Array.from(m.lightness(rgba)), bytes: Array.from(bytes)};
           }""",
        [color.constants(), rgb.ravel().tolist(), lab.ravel().tolist()])
    # RGB -> L as colorize computes it (float sRGB in [0, 1]), and against skimage.
    want_l = color.rgb_to_lab(rgb.astype(np.float32)[None] / 255.0).numpy()[0, :, 0]
    np.testing.assert_allclose(got["l"], want_l, atol=2e-3)
    np.testing.assert_allclose(got["l"], skimage.color.rgb2lab(rgb[None] / 255.0)[0, :, 0], atol=2e-3)
    # Lab -> 8-bit sRGB: tfcolor's to_uint8(lab_to_rgb), out-of-gamut clipping included.
    want = inference.to_uint8(color.lab_to_rgb(lab.astype(np.float32))).numpy().astype(int)
    diff = np.abs(np.reshape(got["bytes"], (-1, 3)) - want)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999, (diff.max(), (diff == 0).mean())


def test_resizes_match_tensorflow(lab_page):
    import tensorflow as tf

    from tfcolor.deploy import inference

    rng = np.random.default_rng(1)
    for (h, w), size in (((37, 53), 16), ((10, 12), 16), ((64, 64), 64), ((301, 200), 64)):
        src = rng.uniform(0, 100, (h, w)).astype(np.float32)
        got = lab_page.evaluate("([s, h, w, size]) => Array.from(window.lab.shrink(Float32Array.from(s), h, w, size))",
                                [src.ravel().tolist(), h, w, size])
        want = inference.shrink(src[None, ..., None], size).numpy().ravel()
        np.testing.assert_allclose(got, want, atol=1e-3, err_msg=f"shrink {h}x{w} -> {size}")
    src = rng.uniform(-100, 100, (7, 5)).astype(np.float32)
    got = lab_page.evaluate("s => Array.from(window.lab.resizeBilinear(Float32Array.from(s), 7, 5, 23, 31))",
                            src.ravel().tolist())
    want = tf.image.resize(src[None, ..., None], (23, 31), method="bilinear").numpy().ravel()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_paint_matches_tensorflow_on_the_page_thread_and_with_its_worker(lab_page):
    """paint.js: a*b* resized bilinearly onto the photo's L and turned into bytes, as
    inference.colorize does; a large photo's lower rows painted by the worker give the very bytes
    of painting them all on the page's thread, and its alpha kept."""
    import tensorflow as tf

    from tfcolor.core import color
    from tfcolor.deploy import inference

    rng = np.random.default_rng(2)
    height, width, ab_h, ab_w = 301, 299, 23, 31  # 90k pixels: the worker paints rows 150..300
    l_photo = rng.uniform(0, 100, (height, width)).astype(np.float32)
    ab = rng.uniform(-80, 80, (ab_h, ab_w, 2)).astype(np.float32)
    alpha = rng.integers(0, 256, (height, width)).astype(np.uint8)
    got = lab_page.evaluate(
        """async ([constants, l, ab, alpha, h, w, abH, abW]) => {
             const { Painter, paintRows } = await import(new URL("paint.js", location.href));
             const painter = new Painter(constants);
             const photo = { width: w, height: h, alpha: Uint8Array.from(alpha) };
             const lArray = Float32Array.from(l);
             const split = await painter.paint(Float32Array.from(ab), abH, abW, photo, lArray);
             const again = await painter.paint(Float32Array.from(ab), abH, abW, photo, lArray);  // L already sent
             const alone = new Uint8ClampedArray(w * h * 4);
             await paintRows(window.lab.makeLab(constants), Float32Array.from(ab), abH, abW, lArray, photo.alpha, w, h, 0, h, alone);
             return { split: Array.from(split), again: Array.from(again), alone: Array.from(alone), worker: Boolean(painter.worker) };
           }""",
        [color.constants(), l_photo.ravel().tolist(), ab.ravel().tolist(), alpha.ravel().tolist(), height, width, ab_h, ab_w])
    assert got["worker"]
    split = np.reshape(got["split"], (height, width, 4))
    assert np.array_equal(split, np.reshape(got["alone"], split.shape))
    assert np.array_equal(split, np.reshape(got["again"], split.shape))
    np.testing.assert_array_equal(split[..., 3], alpha)
    big_ab = tf.image.resize(ab[None], (height, width), method="bilinear")[0]
    want = inference.to_uint8(color.lab_to_rgb(tf.concat([l_photo[..., None], big_ab], -1))).numpy().astype(int)
    diff = np.abs(split[..., :3].astype(int) - want)
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999, (diff.max(), (diff == 0).mean())


def test_levin_js_matches_core_levin(lab_page):
    """web/src/levin.js against tfcolor.core.levin on a real photo's L: few hinted pixels (its
    Green's functions), many (the system factorised with them), a reference's pull, and photos
    of 1x1 and one pixel wide; the working size and the area resize as hinting's."""
    from tfcolor.core import colornp, levin
    from tfcolor.deploy import hinting

    l_photo = colornp.lightness(photo("chelsea"))[..., 0]
    rng = np.random.default_rng(0)
    cases = []
    for (h, w), wide, weight in (((1, 1), False, 0.0), ((7, 1), False, 0.0), ((17, 23), False, 0.0),
                                 ((25, 30), True, 0.0), ((19, 12), False, 1e-2), ((20, 26), True, 1e-2)):
        l = l_photo[50:50 + h, 80:80 + w]
        mask = np.zeros((h, w), bool)
        mask[0, 0] = mask[h // 2, w - 1] = True
        if wide:  # more than levin.js's GREEN_MAX (96) hinted pixels
            mask[2:13, 3:13] = True
        ab = np.where(mask[..., None], rng.uniform(-0.5, 0.5, (h, w, 2)), 0.0)
        prior = rng.uniform(-0.5, 0.5, (h, w, 2))
        want = levin.propagate(l / 100, ab, mask, prior=prior, prior_weight=weight) * colornp.AB_SCALE
        cases.append(([l.ravel().tolist(), h, w, ab.ravel().tolist(), mask.ravel().astype(int).tolist(),
                       prior.ravel().tolist(), weight], want))
    got = lab_page.evaluate(
        """async (cases) => {
             const levin = await import(new URL("levin.js", location.href).href);
             return cases.map(([l, h, w, ab, mask, prior, weight]) => Array.from(levin.propagate(
               Float32Array.from(l), h, w, h, w, {ab: Float32Array.from(ab), mask: Uint8Array.from(mask)}, 110, {},
               weight ? Float64Array.from(prior) : null, weight)));
           }""", [c for c, _ in cases])
    for values, ((_, h, w, *_), want) in zip(got, cases):
        np.testing.assert_allclose(np.reshape(values, (h, w, 2)), want, atol=0.02, err_msg=f"{h}x{w}")
    sizes = lab_page.evaluate("""async (shapes) => {
                                   const levin = await import(new URL("levin.js", location.href).href);
                                   return shapes.map(([h, w]) => levin.workingSize(h, w, 160));
                                 }""", [[600, 400], [300, 451], [1067, 1600], [100, 50], [321, 3], [1, 5000]])
    assert sizes == [list(hinting.working_size(h, w)) for h, w in ([600, 400], [300, 451], [1067, 1600], [100, 50],
                                                                   [321, 3], [1, 5000])]
    got = lab_page.evaluate("""async (l) => {
                                 const levin = await import(new URL("levin.js", location.href).href);
                                 return Array.from(levin.resizeArea(Float64Array.from(l), 37, 53, 11, 16));
                               }""", l_photo[:37, :53].ravel().tolist())
    np.testing.assert_allclose(got, colornp.resize_area(l_photo[:37, :53, None], 11, 16).ravel(), atol=1e-3)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The shipped model's web page, as `python -m tfcolor.export --web=DIR` writes it."""
    from tfcolor.core import shipped
    from tfcolor.deploy.serving import load_generator

    directory = str(tmp_path_factory.mktemp("site"))
    model_dir = shipped.default_model()
    generator, size = load_generator(model_dir)
    web.write_site(generator, size, directory, shipped.NAME, network=web.cached_network(model_dir, generator, size),
                   refiner=web.cached_refiner(model_dir))
    return directory


def test_write_site_holds_the_page_the_runtime_and_the_network(tmp_path):
    """No browser needed: the files, the colour constants of tfcolor.core.color and a
    fixed-shape network that gives the Keras generator's numbers (ai-edge-litert)."""
    import json

    import keras

    from tfcolor import models
    from tfcolor.core import color
    from tfcolor.deploy import lite

    _need_runtime()
    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet", image_size=32, base_filters=8)
    sizes = web.write_site(generator, 32, str(tmp_path), "tiny", log=lambda message: None)
    assert set(web.PAGE_FILES) | {web.MODEL, web.CONFIG} | {d for _, d in web.RUNTIME_FILES} == set(sizes)
    config = json.loads((tmp_path / web.CONFIG).read_text())
    assert (config["name"], config["size"], config["model"]) == ("tiny", 32, web.MODEL)
    assert config["color"] == json.loads(json.dumps(color.constants()))
    runner = lite.interpreter(str(tmp_path / web.MODEL), 1).get_signature_runner("generator")
    assert list(runner.get_input_details()["l"]["shape"]) == [1, 32, 32, 1]
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(runner(l=x)["ab"], generator(x, training=False).numpy(), atol=1e-5)
    # Weights that are float16 values already (a generator stored so, as the shipped one is) go
    # as an fp16 network: about half the bytes, the same numbers up to BatchNorm folded into the
    # convolutions before their rounding.
    for weight in generator.weights:
        weight.assign(weight.numpy().astype(np.float16).astype(np.float32))
    half = web.write_site(generator, 32, str(tmp_path / "half"), "tiny", log=lambda message: None)
    assert 0.4 < half[web.MODEL] / sizes[web.MODEL] < 0.6
    runner = lite.interpreter(str(tmp_path / "half" / web.MODEL), 1).get_signature_runner("generator")
    np.testing.assert_allclose(runner(l=x)["ab"], generator(x, training=False).numpy(), atol=2e-3)
    # A model with a hint refiner: its file beside the network, named in the config (levin.js's
    # colours go through it); the same site written again for a model without one drops it.
    from tfcolor.models import hint_refiner

    refiner = hint_refiner.build((4, 8))
    refined = web.write_site(generator, 32, str(tmp_path / "half"), "tiny", log=lambda message: None, refiner=refiner)
    assert json.loads((tmp_path / "half" / web.CONFIG).read_text())["propagation"]["refiner"] == web.REFINER
    square = np.random.default_rng(1).uniform(-1, 1, (1, hint_refiner.SIZE, hint_refiner.SIZE, 6)).astype(np.float32)
    ab = lite.interpreter(str(tmp_path / "half" / web.REFINER), 1).get_signature_runner("refiner")(x=square)["ab"]
    np.testing.assert_allclose(ab, refiner(square).numpy(), atol=1e-5)
    assert web.REFINER in refined
    web.write_site(generator, 32, str(tmp_path / "half"), "tiny", log=lambda message: None)
    assert not (tmp_path / "half" / web.REFINER).exists()
    assert "refiner" not in json.loads((tmp_path / "half" / web.CONFIG).read_text())["propagation"]


# Every generator kind, small: what --web converts must run in LiteRT.js with Keras's numbers.
GENERATOR_KINDS = [
    ("unet", dict(image_size=32, base_filters=8)),
    ("unet", dict(image_size=32, base_filters=8, upsampling="resize", norm="instance")),
    ("unet", dict(image_size=32, base_filters=8, upsampling="pixeltcl", norm="spectral")),
    ("unet_small", dict(image_size=32, base_filters=8)),
    ("resnet", dict(image_size=32, base_filters=8, num_blocks=2)),
    ("resnet18_unet", dict(image_size=32, encoder_weights=None)),
    ("encoder_unet", dict(image_size=32, base_filters=8, encoder="mobilenet_v2")),
    ("unet_small", dict(image_size=32, base_filters=8, ab_output="classes")),  # --ab_output=classes
]


@pytest.fixture(scope="module")
def site_with_every_generator(site):
    """Each GENERATOR_KINDS network written into the site as gen_I.tflite (the page's server
    serves them too), and the Keras outputs for one input."""
    import keras

    from tfcolor import models
    from tfcolor.deploy import lite
    from tfcolor.core import ab_bins
    from tfcolor.models import classes

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    expected = []
    for i, (name, kwargs) in enumerate(GENERATOR_KINDS):
        keras.utils.set_random_seed(i)
        kwargs = dict(kwargs)
        class_head = kwargs.pop("ab_output", "regression") == "classes"
        if class_head:
            kwargs["out_channels"] = classes.CLASS_FEATURES
        generator = models.build_generator(name, **kwargs)
        if class_head:  # a prior far from uniform, so that the decoded colours are far from gray
            generator = classes.class_head(generator, prior=rng.dirichlet(np.full(len(ab_bins.gamut_centres()), 0.3)))
        for layer in generator.layers:  # non-trivial BatchNorm statistics
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
        with open(os.path.join(site, f"gen_{i}.tflite"), "wb") as f:
            f.write(lite.convert_network(generator, 32))
        expected.append(generator(x, training=False).numpy())
    return x, expected


@pytest.fixture(scope="module")
def page(browser, site):
    with web.serve(site) as url:
        page = browser.new_page(accept_downloads=True)
        errors, requests = [], []
        page.on("pageerror", lambda error: errors.append(error))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        # The first visit registers coi.js and reloads once, cross-origin isolated.
        page.wait_for_function("window.tfcolor !== undefined", timeout=90000)
        page.evaluate("window.tfcolor.ready.then(() => true)")
        yield page
        assert not errors, errors
        # Everything the page loads comes from the site folder: it works offline.
        assert requests and all(u.startswith((url, "blob:", "data:")) for u in requests), sorted(set(requests))
        page.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three real photos of different sizes and formats; coffee is stored landscape with an
    EXIF rotation, so both readers must turn it into a 400x600 portrait."""
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(photo("astronaut")).save(folder / "astronaut.jpg", quality=90)
    Image.fromarray(photo("chelsea")).save(folder / "chelsea.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    Image.fromarray(photo("coffee")).save(folder / "coffee.jpg", quality=90, exif=exif)
    return sorted(str(p) for p in folder.iterdir())


def _colorize_file(page, path):
    """The page's window.tfcolor.colorizeFile on a File made of ``path``'s bytes -> PNG bytes."""
    data = base64.b64encode(open(path, "rb").read()).decode()
    result = page.evaluate(
        """async ([name, data]) => {
             const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
             const png = await window.tfcolor.colorizeFile(new File([bytes], name));
             let text = "";
             for (let i = 0; i < png.length; i += 0x8000) text += String.fromCharCode(...png.subarray(i, i + 0x8000));
             return btoa(text);
           }""", [os.path.basename(path), data])
    return base64.b64decode(result)


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse) if mse else float("inf")


def test_page_runs_the_network_on_every_core(page):
    """Served by a plain static server, the page isolates itself (coi.js) and loads the
    threaded runtime."""
    info = page.evaluate("window.tfcolor.info()")
    assert page.evaluate("self.crossOriginIsolated")
    cores = page.evaluate("navigator.hardwareConcurrency")
    assert (info["accelerator"], info["threads"]) == ("wasm", min(cores, 8))
    assert page.text_content("#model").endswith(f"WebAssembly, {info['threads']} thread" + ("s" if cores > 1 else ""))


def test_webgpu_without_an_adapter_falls_back_to_webassembly(browser, site):
    """Headless Chromium here has no GPU adapter: ?accelerator=webgpu must still give a working
    page, on WebAssembly, with the WebGPU choice marked unavailable."""
    with web.serve(site) as url:
        page = browser.new_page()
        page.goto(url + "?accelerator=webgpu")
        page.wait_for_function("window.tfcolor !== undefined", timeout=90000)
        assert page.evaluate("window.tfcolor.info().then((info) => info.accelerator)") == "wasm"
        assert page.text_content("#status").startswith("Ready")
        assert page.evaluate("document.querySelector('option[value=webgpu]').disabled")
        page.close()


@pytest.mark.slow
def test_every_generator_kind_runs_in_the_browser_with_kerass_numbers(page, site_with_every_generator):
    x, expected = site_with_every_generator
    # One thread each: in the page's threaded runtime (its network and hint refiner compiled on
    # every core) eight more threaded compiles in a row stopped the page (its pthreads used up).
    for i, (name, kwargs) in enumerate(GENERATOR_KINDS):
        got = page.evaluate(
            """async ([path, x]) => {
                 const {loadAndCompile, Tensor} = await import("@litertjs/core");
                 const model = await loadAndCompile(new URL(path, location.href).href, {accelerator: "wasm", cpuOptions: {numThreads: 1}});
                 const input = new Tensor(Float32Array.from(x), [1, 32, 32, 1]);
                 const output = await (await model.run(input))[0].moveTo("wasm");
                 const values = Array.from(output.toTypedArray());
                 input.delete(); output.delete(); model.delete();
                 return values;
               }""", [f"gen_{i}.tflite", x.ravel().tolist()])
        np.testing.assert_allclose(np.reshape(got, expected[i].shape), expected[i], atol=1e-4,
                                   err_msg=f"{name} {kwargs}")


@pytest.mark.slow
def test_page_matches_python_colorize(page, photos, tmp_path):
    out = tmp_path / "python"
    run_module("tfcolor.colorize", *photos, f"--output_dir={out}")
    for path in photos:
        got = np.asarray(Image.open(io.BytesIO(_colorize_file(page, path))).convert("RGB"))
        want = np.asarray(Image.open(out / (os.path.splitext(os.path.basename(path))[0] + ".png")).convert("RGB"))
        assert got.shape == want.shape, (path, got.shape, want.shape)
        psnr = _psnr(got, want)
        print(f"{os.path.basename(path)} {got.shape[1]}x{got.shape[0]}: {psnr:.1f} dB")
        assert psnr >= 40, (path, psnr)
        chroma = np.ptp(got.astype(int), axis=-1).mean()
        assert chroma > 3, (path, chroma)  # colour, not the gray input back
    assert got.shape[:2] == (600, 400)  # coffee.jpg, last: the EXIF rotation honoured


def _hints_for(path):
    """Points on one of ``photos``, in its pixels as displayed: coffee.jpg (EXIF-rotated to
    400x600) gets a wide point (over GREEN_MAX hinted pixels: levin.js factorises the system
    with them), the others small ones (levin.js combines its Green's functions)."""
    name = os.path.basename(path)
    if name.startswith("coffee"):
        return {"points": [{"x": 200, "y": 150, "color": "#b04020", "radius": 40}, {"x": 300, "y": 500, "color": "#2050c0"}]}
    return {"points": [{"x": 60, "y": 40, "color": "#2e6fd0", "radius": 6}, {"x": 250.5, "y": 130.2, "color": "#c07030"},
                       {"x": 120, "y": 180, "color": "#3c3", "radius": 2.5}]}


def _colorize_with_hints(page, path, hints, reference=None):
    """colorizeFile(file, hints) in the page; ``reference``: a photo's path, given as a File."""
    data = base64.b64encode(open(path, "rb").read()).decode()
    ref = base64.b64encode(open(reference, "rb").read()).decode() if reference else None
    result = page.evaluate(
        """async ([name, data, hints, ref]) => {
             const file = (d, n) => new File([Uint8Array.from(atob(d), (c) => c.charCodeAt(0))], n);
             if (ref) hints = { ...hints, reference: file(ref, "reference.png") };
             const png = await window.tfcolor.colorizeFile(file(data, name), hints);
             let text = "";
             for (let i = 0; i < png.length; i += 0x8000) text += String.fromCharCode(...png.subarray(i, i + 0x8000));
             return btoa(text);
           }""", [os.path.basename(path), data, hints, ref])
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(result))).convert("RGB"))


@pytest.mark.slow
def test_page_hints_on_the_shipped_model_match_python_colorize_hints(page, photos, tmp_path):
    """The shipped model takes no hints: the page propagates them (levin.js) as `colorize
    --hints` does (tfcolor.deploy.hinting), to the same pixels."""
    import json

    from tfcolor.core import hints as H

    hint_dir = tmp_path / "hints"
    hint_dir.mkdir()
    for path in photos:
        (hint_dir / (os.path.splitext(os.path.basename(path))[0] + ".json")).write_text(json.dumps(_hints_for(path)))
    out = tmp_path / "python"
    run_module("tfcolor.colorize", *photos, f"--hints={hint_dir}", f"--output_dir={out}")
    for path in photos:
        stem = os.path.splitext(os.path.basename(path))[0]
        want = np.asarray(Image.open(out / (stem + ".png")).convert("RGB"))
        got = _colorize_with_hints(page, path, _hints_for(path))
        assert got.shape == want.shape, (path, got.shape, want.shape)
        psnr = _psnr(got, want)
        print(f"{stem} with hints: {psnr:.1f} dB against colorize --hints")
        assert psnr >= 40, (path, psnr)
        # Levin's colours, not the model's: the hinted point's a*b* spread over the photo.
        ab = H.lab_of_rgb(got)[..., 1:]
        x, y = (int(_hints_for(path)["points"][1][k]) for k in ("x", "y"))
        want_ab = H.lab_of_rgb(np.array([[H.parse_color(_hints_for(path)["points"][1]["color"])]], np.uint8))[0, 0, 1:]
        assert np.abs(ab[y, x] - want_ab).mean() < 10, (path, ab[y, x], want_ab)
    assert got.shape[:2] == (600, 400)  # coffee.jpg: hints placed on the photo as displayed


@pytest.mark.slow
def test_page_refines_levins_colours_with_a_hint_refiner_after_a_draft(page, site):
    """A model with a hint refiner (a perturbed one, not trained): the page shows Levin's colours
    first (onDraft, `colorize --hints` of a model without a refiner) and then the refiner's, as
    Python's hinting.propagate(refine=...) gives them."""
    import keras

    from tfcolor.core import hints as H
    from tfcolor.deploy import hinting, lite
    from tfcolor.models import hint_refiner

    keras.utils.set_random_seed(0)
    refiner = perturb_refiner(hint_refiner.build((4, 8, 16)))
    with open(os.path.join(site, "test_refiner.tflite"), "wb") as f:
        f.write(lite.convert_refiner(refiner))
    rgb = photo("coffee")[:300, :420]
    hints = {"points": [{"x": 60, "y": 40, "color": "#2e6fd0", "radius": 3}, {"x": 250.5, "y": 130.2, "color": "#c07030"},
                        {"x": 330, "y": 250, "color": "#3c3"}]}
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    got = page.evaluate(
        """async ([data, hints]) => {
             const { Colorizer, decode } = await import("./colorizer.js");
             const { parseHints } = await import("./hints.js");
             const { loadAndCompile } = await import("@litertjs/core");
             const shipped = await window.tfcolor.ready;
             const refiner = await loadAndCompile(new URL("test_refiner.tflite", location.href).href, { accelerator: "wasm" });
             const c = new Colorizer(shipped.model, shipped.config, "wasm", 1, refiner);
             const photo = await decode(new File([Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0))], "p.png"));
             const points = parseHints(hints, photo.width, photo.height);
             let draft = null;
             const { color } = await c.colorize(photo, () => {}, points, {}, null, (d) => { draft = Array.from(d.color); });
             refiner.delete();
             return { draft, color: Array.from(color) };
           }""", [base64.b64encode(buffer.getvalue()).decode(), hints])
    parsed = H.hints_from_json(hints)
    levin = hinting.propagate(rgb, parsed)
    refined = hinting.propagate(rgb, parsed, refine=lambda x: refiner(x).numpy())
    draft = np.reshape(got["draft"], rgb.shape[:2] + (4,))[..., :3]
    final = np.reshape(got["color"], rgb.shape[:2] + (4,))[..., :3]
    print(f"draft {_psnr(draft, levin):.1f} dB from Levin, refined {_psnr(final, refined):.1f} dB from Python's")
    assert _psnr(draft, levin) >= 40
    assert _psnr(final, refined) >= 40
    assert _psnr(final, draft) < 40  # the refiner's correction shows


@pytest.mark.slow
def test_page_reference_photo_matches_python_colorize_hints(page, tmp_path):
    """A reference photo, alone and with points, on the shipped model's page: the colours moved
    to the reference's (and the points propagated around them) as `colorize --hints` does."""
    import json

    Image.fromarray(photo("rocket")).save(tmp_path / "reference.png")
    cases = {"alone": {"reference": "reference.png"},
             "points": {"points": [{"x": 100, "y": 80, "color": "#2e6fd0"}, {"x": 300, "y": 220, "color": "#c07030"}],
                        "reference": "reference.png"}}
    for name, hints in cases.items():
        Image.fromarray(photo("chelsea")).save(tmp_path / f"{name}.png")
        (tmp_path / f"{name}.json").write_text(json.dumps(hints))
    run_module("tfcolor.colorize", *(str(tmp_path / f"{n}.png") for n in cases), f"--hints={tmp_path}",
               f"--output_dir={tmp_path / 'python'}")
    plain = _colorize_with_hints(page, tmp_path / "alone.png", None)
    for name, hints in cases.items():
        want = np.asarray(Image.open(tmp_path / "python" / f"{name}.png").convert("RGB"))
        got = _colorize_with_hints(page, tmp_path / f"{name}.png", {k: v for k, v in hints.items() if k != "reference"},
                                   reference=tmp_path / "reference.png")
        psnr = _psnr(got, want)
        print(f"reference {name}: {psnr:.1f} dB against colorize --hints, {_psnr(got, plain):.1f} dB from no hints")
        assert psnr >= 40, (name, psnr)
        assert _psnr(got, plain) < 35  # the reference changed the colours
    (tmp_path / "notes.jpg").write_text("not a photo")
    with pytest.raises(Exception, match="reference photo reference.png: not an image the browser can read"):
        _colorize_with_hints(page, tmp_path / "alone.png", {}, reference=tmp_path / "notes.jpg")


@pytest.mark.slow
def test_page_editor_on_the_shipped_model_propagates_hints(page, tmp_path):
    """The editor works for a model without hint inputs: two clicks, a colour change and a
    reference photo, each re-coloured at once (the propagation's factors and Green's functions
    reused), give what Python gives for the hints it saves."""
    import json

    from tfcolor.core import hints as H, shipped
    from tfcolor.deploy.colorizer import load_colorizer

    rgb = photo("rocket")[:200, :300]
    path = tmp_path / "rocket_edit.png"
    Image.fromarray(rgb).save(path)
    page.set_input_files("#files", [str(path)])
    card = page.locator(".card", has_text="rocket_edit.png").first
    card.locator(".meta").wait_for(timeout=60000)
    image = card.locator(".compare img").first

    def changed(before):
        page.wait_for_function("([name, src]) => [...document.querySelectorAll('.card')].find("
                               "(c) => c.textContent.includes(name)).querySelector('.compare img').src !== src",
                               arg=["rocket_edit.png", before], timeout=30000)
        return image.get_attribute("src")

    src = image.get_attribute("src")
    card.locator(".hints input[type=checkbox]").check()
    box = image.bounding_box()
    for fy, fx in ((0.25, 0.5), (0.8, 0.2)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        src = changed(src)
    assert card.locator(".hints li").count() == 2
    card.locator(".hints li input[type=color]").first.fill("#1060d0")
    src = changed(src)
    assert "ms at 300×200" in card.locator(".hints .timing").text_content()

    def shown(src):
        data = page.evaluate("async (src) => { const b = new Uint8Array(await (await fetch(src)).arrayBuffer());"
                             " let t = ''; for (const v of b) t += String.fromCharCode(v); return btoa(t); }", src)
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))

    def saved():
        with page.expect_download() as download:
            card.locator(".hints button", has_text="Save hints").click()
        return json.loads(open(download.value.path()).read())

    hints = saved()
    assert [p["color"] for p in hints["points"]][0] == "#1060d0"
    shipped_model, _ = load_colorizer(shipped.default_model())  # (its hint refiner after Levin, as the page)
    assert _psnr(shown(src), shipped_model.hinted(rgb, H.hints_from_json(hints))) >= 40
    # What the editor drew over the photo at once (its canvas) is what it then encoded.
    drawn = page.evaluate("(name) => { const c = [...document.querySelectorAll('.card')].find((e) => e.textContent"
                          ".includes(name)).querySelector('.compare canvas.painted');"
                          " return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }",
                          "rocket_edit.png")
    np.testing.assert_array_equal(np.reshape(drawn, rgb.shape[:2] + (4,))[..., :3], shown(src))
    # A reference photo picked: saved by its name, which `colorize --hints` reads beside the JSON.
    Image.fromarray(photo("coffee")).save(tmp_path / "cup.png")
    card.locator(".hints input[type=file][accept^=image]").set_input_files(str(tmp_path / "cup.png"))
    src = changed(src)
    hints = saved()
    assert hints["reference"] == "cup.png"
    (tmp_path / "rocket_edit.json").write_text(json.dumps(hints))
    run_module("tfcolor.colorize", str(path), f"--hints={tmp_path / 'rocket_edit.json'}", f"--output_dir={tmp_path / 'out'}")
    want = np.asarray(Image.open(tmp_path / "out" / "rocket_edit.png").convert("RGB"))
    assert _psnr(shown(src), want) >= 40


@pytest.mark.slow
def test_page_buttons_bad_file_and_download(page, photos, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    page.set_input_files("#files", [str(bad), photos[0]])
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('Done')", timeout=60000)
    message = page.text_content(".card.error .message")
    assert "notes.jpg is not an image" in message
    card = page.locator(".card", has_text=os.path.basename(photos[0])).first
    with page.expect_download() as download:
        card.locator("button.download").click()
    assert download.value.suggested_filename == "astronaut_color.png"
    downloaded = open(download.value.path(), "rb").read()
    assert downloaded == _colorize_file(page, photos[0])  # the button gives colorizeFile's bytes
    assert Image.open(io.BytesIO(downloaded)).size == (512, 512)


@pytest.mark.slow
def test_page_takes_dropped_webp(page, tmp_path):
    """A WebP photo dropped on the page (a real drop event with a DataTransfer) comes out in
    colour at its size."""
    path = tmp_path / "cat.webp"
    Image.fromarray(photo("chelsea")).save(path, lossless=True)
    data = base64.b64encode(path.read_bytes()).decode()
    page.evaluate(
        """(data) => {
             const transfer = new DataTransfer();
             transfer.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], "cat.webp",
                                         {type: "image/webp"}));
             document.querySelector("#drop").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer,
                                                                                  bubbles: true, cancelable: true}));
           }""", data)
    card = page.locator(".card", has_text="cat.webp").first
    card.locator(".meta").wait_for(timeout=60000)
    assert card.locator(".meta").text_content().startswith("451×300 px")
    assert card.locator("img").count() == 2  # colour and the gray "before" of the slider


@pytest.mark.slow
def test_export_web_command_writes_the_site(tmp_path):
    """`python -m tfcolor.export --generator=G --web=DIR` (the command's own branch, not only
    write_site): the page, the runtime, the network at --render_size and its config."""
    import json

    import keras

    from tfcolor import models

    _need_runtime()
    keras.utils.set_random_seed(0)
    models.build_generator("unet", image_size=32, base_filters=8).save(tmp_path / "g.keras")
    result = run_module("tfcolor.export", f"--generator={tmp_path / 'g.keras'}", f"--web={tmp_path / 'site'}",
                        "--render_size=64", "--name=tiny")
    assert f"wrote the web page to {tmp_path / 'site'}" in result.stdout
    config = json.loads((tmp_path / "site" / web.CONFIG).read_text())
    assert (config["name"], config["size"], config["hints"]) == ("tiny", 64, False)
    from tfcolor.deploy import hinting

    assert config["propagation"] == {"size": hinting.PROPAGATION_SIZE,  # levin.js solves where Python does
                                     "reference_prior_weight": hinting.REFERENCE_PRIOR_WEIGHT,
                                     "reference_most": hinting.REFERENCE_MOST}
    assert all((tmp_path / "site" / name).exists() for name in web.PAGE_FILES + (web.MODEL,))
    refused = run_module("tfcolor.export", f"--generator={tmp_path / 'g.keras'}", f"--web={tmp_path / 'x'}",
                         "--tflite=fp32", check=False)
    assert refused.returncode != 0 and "--web writes the web page alone" in refused.stderr


@pytest.mark.slow
def test_export_web_of_a_run_folder_converts_its_network_once(tmp_path, trained_model_files):
    """`export --model_dir=RUN --web=DIR` takes the network from the quick path's cache (the
    file `colorize` runs), converting it on a machine's first use only; a changed render size is
    converted in place and leaves the cache alone."""
    from tests import launcher
    from tfcolor.deploy import litert, quick
    from tfcolor.deploy.serving import load_generator

    _need_runtime()
    run = trained_model_files["run"]
    env = launcher.command_env(TFCOLOR_CACHE=str(tmp_path / "cache"))
    for attempt, site in enumerate(("a", "b")):
        result = launcher.run(["-m", "tfcolor.export", f"--model_dir={run}", f"--web={tmp_path / site}"], env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert ("first use of" in result.stdout) == (attempt == 0), result.stdout
    cached = sorted(os.listdir(tmp_path / "cache"))
    assert cached == [f"network-{quick.model_key(run)}.tflite"]  # fp32: the trained generator's weights
    network = (tmp_path / "cache" / cached[0]).read_bytes()
    assert (tmp_path / "a" / web.MODEL).read_bytes() == network == (tmp_path / "b" / web.MODEL).read_bytes()
    generator, size = load_generator(run)
    l = np.random.default_rng(0).uniform(-1, 1, [1, size, size, 1]).astype(np.float32)
    got = litert.interpreter(str(tmp_path / "cache" / cached[0])).get_signature_runner("generator")(l=l)["ab"]
    np.testing.assert_allclose(got, generator(l, training=False).numpy(), atol=1e-4)
    result = launcher.run(["-m", "tfcolor.export", f"--model_dir={run}", f"--web={tmp_path / 'c'}",
                           f"--render_size={2 * size}"], env)
    assert result.returncode == 0 and "first use of" not in result.stdout, result.stderr[-2000:]
    assert sorted(os.listdir(tmp_path / "cache")) == cached
    assert json.loads((tmp_path / "c" / web.CONFIG).read_text())["size"] == 2 * size
