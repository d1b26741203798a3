"""Colourise photo files with any exported form of a generator (library of the colorize CLI).

``load_colorizer(path)`` accepts a training run (folder with generator.keras), a SavedModel
(a version folder, or a TF Serving model folder whose highest version is used) or a .tflite
file, and returns a callable uint8 RGB [H, W, 3] -> uint8 RGB [H, W, 3] at the photo's own
resolution. ``read_photo`` reads any file Pillow can (gray, RGB, RGBA, palette, CMYK, 16-bit,
EXIF-rotated) through tfcolor.core.images and keeps an alpha channel apart.
"""

import functools
import glob
import os

import numpy as np

from tfcolor.core.images import IMAGE_EXTENSIONS, photo_files

# Photos per network call of ``.photos`` (the photo commands, local and on Beam): fixed, padded
# when fewer, so that a photo's colours are the same bytes whatever batch it falls in (the
# network's float results depend on the batch size, not on the other photos in it).
NETWORK_BATCH = 8
PNG_LEVEL = 1  # zlib level of the PNGs written (encode_png)


def collect_inputs(specs, recursive=True, extensions=IMAGE_EXTENSIONS):
    """Files, globs and folders -> (list of (path, output name), list of specs that matched
    nothing). Folders contribute their images (recursively), named by their path inside the
    folder; files and globs by their base name. Order: as given, sorted within a spec."""
    found, missing, seen = [], [], set()
    for spec in specs:
        if os.path.isdir(spec):
            paths = [(p, os.path.relpath(p, spec)) for p in photo_files(spec, recursive, extensions)]
        elif os.path.isfile(spec):
            paths = [(spec, os.path.basename(spec))]
        else:
            paths = [(p, os.path.basename(p)) for p in sorted(glob.glob(spec, recursive=True)) if os.path.isfile(p)]
        if not paths:
            missing.append(spec)
        for path, name in paths:
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                found.append((path, name))
    return found, missing


def output_names(names):
    """Output PNG names (extension replaced, clashes numbered: a.jpg, a.png -> a.png, a_2.png)."""
    used, result = set(), []
    for name in names:
        stem = os.path.splitext(name)[0]
        candidate, n = f"{stem}.png", 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{stem}_{n}.png"
        used.add(candidate.lower())
        result.append(candidate)
    return result


def read_photo(path, max_pixels=200_000_000, read_bytes=None):
    """Any image file -> (uint8 RGB [H, W, 3], uint8 alpha [H, W] or None). ``read_bytes``: a
    function path -> bytes for files on other filesystems (tfcolor.core.fs.read_bytes).

    Raises tfcolor.core.images.SkipImage with a reason for files that cannot be read."""
    import io

    from PIL import Image, ImageOps

    from tfcolor.core.images import Item, load_rgb

    data = None
    if read_bytes is not None:  # read once, decoded twice (colour, then alpha)
        from tfcolor.core.images import SkipImage

        try:
            data = read_bytes(path)
        except Exception as e:  # noqa: BLE001 (each filesystem raises its own kinds)
            raise SkipImage("unreadable", str(e)) from e
    rgb, _ = load_rgb(Item(key=path, path=path), max_pixels=max_pixels,
                      read_bytes=None if data is None else (lambda _: data))
    alpha = None
    with Image.open(path if data is None else io.BytesIO(data)) as image:
        if "A" in image.getbands() or "transparency" in image.info:
            alpha_image = ImageOps.exif_transpose(image.convert("RGBA")).getchannel("A")
            alpha = np.asarray(alpha_image, np.uint8)
    if alpha is not None and (alpha.shape != rgb.shape[:2] or alpha.min() == 255):
        alpha = None
    return rgb, alpha


def encode_png(rgb, alpha=None):
    """uint8 RGB [H, W, 3] (and alpha [H, W]) -> PNG bytes: the one encoder of every runner.
    zlib level 1: on photos as small as level 6 (Pillow's default) within 1 %, 3-4x faster
    (bench/README.md, archives)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb if alpha is None else np.dstack([rgb, alpha])).save(buffer, format="PNG",
                                                                            compress_level=PNG_LEVEL)
    return buffer.getvalue()


def colorize_photos(colorize, photos):
    """Colourises ``photos``, a list of (uint8 RGB [H, W, 3], Hints or None), with a colouriser
    of :func:`load_colorizer`: those without hints through ``colorize.photos`` (batched), the
    others one by one through ``colorize.hinted``. Returns a list of (RGB, None) or (None, the
    reason it failed): one photo's failure leaves the others done. The local command and
    ``--runner=beam`` both colour through here, so their outputs are the same bytes."""
    results = [None] * len(photos)
    plain = [i for i, (_, hints) in enumerate(photos) if hints is None]
    try:
        for i, rgb in zip(plain, colorize.photos([photos[i][0] for i in plain])):
            results[i] = (rgb, None)
    except Exception:  # noqa: BLE001 (then one by one: the failure is that photo's alone)
        pass
    for i, (rgb, hints) in enumerate(photos):
        if results[i] is not None:
            continue
        try:
            results[i] = (colorize.hinted(rgb, hints) if hints is not None else colorize.photos([rgb])[0], None)
        except Exception as e:  # noqa: BLE001 (a bad photo must not stop the others)
            results[i] = (None, failure(e))
    return results


def failure(error):
    """An exception -> the one-line reason a photo was skipped."""
    from tfcolor.core.hints import HintError
    from tfcolor.core.images import SkipImage

    if isinstance(error, (SkipImage, HintError)):
        return str(error)
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def side_by_side(rgb_in, colorized):
    """What the model saw (the input's L, ab = 0) | colourised, one image."""
    from tfcolor.deploy.inference import gray_rgb

    return np.concatenate([gray_rgb(rgb_in).numpy(), colorized], axis=1)


def check_model(path, render_size=0, chroma_gain=0.0):
    """Raises ValueError saying what is wrong when ``path`` is no model :func:`load_colorizer`
    takes with these flags (without importing TensorFlow)."""
    exported = path.endswith(".tflite") or not os.path.exists(os.path.join(path, "generator.keras"))
    for flag, value in (("render_size", render_size), ("chroma_gain", chroma_gain)):
        if value and exported:
            raise ValueError(f"{path}: --{flag} needs a training run or generator.keras; a SavedModel or TFLite "
                             f"file keeps the {flag} it was exported with (tfcolor.export --{flag})")
    if not (path.endswith(".tflite") and os.path.isfile(path)) and not os.path.isdir(path):
        raise ValueError(f"{path}: not a training run, a SavedModel or a .tflite file")


def load_colorizer(path, num_threads=None, render_size=0, chroma_gain=0.0):
    """A callable uint8 RGB [H, W, 3] -> uint8 RGB [H, W, 3] and a description of the model.
    Keras generators and SavedModels also have ``.batch`` for same-size stacks (one call).
    ``render_size``: the size the network sees, ``chroma_gain``: the factor of its a*b* (0: the
    model's own; training runs and generator.keras only: an exported model keeps the size and
    gain it was exported with)."""
    check_model(path, render_size, chroma_gain)
    if path.endswith(".tflite") and os.path.isfile(path):  # LiteRT alone: no TensorFlow import
        from tfcolor.deploy import litert

        interp = litert.interpreter(path, num_threads)
        network = None
        if litert.takes_hint_rows(interp):
            def network(rgb, hints, points=None):
                from tfcolor.deploy import hinting

                return litert.colorize_with(interp, rgb, hinting.hint_rows(hints, points))
        return _with_batch(lambda rgb: litert.colorize_with(interp, rgb), network=network,
                           refine=litert.refiner_of(interp)), f"TFLite {path}"
    if _quick_path(path, render_size, chroma_gain):
        from tfcolor.deploy import litert, quick

        try:
            network_file, refiner_file = quick.network_file(path), quick.refiner_file(path)
        except OSError:  # a cache folder that cannot be written: the TensorFlow path below
            network_file = None
        if network_file:
            colorize = quick.QuickColorizer(network_file, num_threads)
            refine = None
            if refiner_file:  # its interpreter made on the first hinted photo, not for automatic ones
                runner = functools.cache(lambda: litert.refiner_of(litert.interpreter(refiner_file, num_threads)))

                def refine(x):
                    return runner()(x)
            return _with_batch(colorize, refine=refine), f"{path} ({colorize.size} px, its network on LiteRT)"
    import tensorflow as tf

    from tfcolor.deploy import hinting, serving_api

    if os.path.exists(os.path.join(path, "generator.keras")):
        from tfcolor.deploy import inference
        from tfcolor.deploy.serving import load_generator, load_refiner
        from tfcolor.models import hint_refiner
        from tfcolor.models.hint_inputs import takes_hints

        generator, size = load_generator(path, render_size=render_size, chroma_gain=chroma_gain)
        refiner, refine = None if takes_hints(generator) else load_refiner(path), None
        if refiner is not None:
            traced = inference.TracedOnce(refiner, hint_refiner.SIZE)  # one graph for every call

            def refine(x):
                return traced(tf.constant(x, tf.float32)).numpy()

        @tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
        def run(images):
            return inference.to_uint8(inference.colorize(generator, inference.to_float_rgb(images), size))

        network = None
        if takes_hints(generator):
            @tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8),
                                                           tf.TensorSpec([None, size, size, 3], tf.float32)])
            def run_hinted(images, channels):
                return inference.to_uint8(inference.colorize(generator, inference.to_float_rgb(images), size,
                                                             channels))

            def network(rgb, hints, points=None):
                channels = hinting.hint_channels(hints, size, *rgb.shape[:2], points=points)
                return run_hinted(rgb[None], channels[None])[0].numpy()

        colorize = _with_batch(lambda rgb: run(rgb[None])[0].numpy(), lambda rgbs: run(rgbs).numpy(), network,
                               _batched_photos(generator, size), refine)
        engine = "hint generator" if network else "generator"
        return colorize, f"{engine} {path} ({size} px{_gain_note(generator, inference.CHROMA_GAIN_LAYER)})"
    from tfcolor.deploy.serving import versions

    numbered = versions(path)
    saved = os.path.join(path, str(max(numbered))) if numbered else path
    if not os.path.exists(os.path.join(saved, "saved_model.pb")):
        raise ValueError(f"{path}: no generator.keras, saved_model.pb or numbered version folder")
    loaded = tf.saved_model.load(saved)  # kept alive by the closure: signatures hold weak references

    def run_saved(rgbs):
        return loaded.signatures["colorize_uint8"](images=tf.constant(rgbs))["rgb"].numpy()

    network = None
    if serving_api.HINTS_SIGNATURE in loaded.signatures:
        def network(rgb, hints, points=None):
            png = tf.io.encode_png(tf.constant(rgb))
            rows = serving_api.pad_points([hinting.hint_rows(hints, points)])
            out = loaded.signatures[serving_api.HINTS_SIGNATURE](
                **{serving_api.INPUT_KEY: png[None], serving_api.HINTS_KEY: tf.constant(rows)})
            return tf.io.decode_png(out[serving_api.OUTPUT_KEY][0]).numpy()

    refine = None
    if serving_api.REFINER_SIGNATURE in loaded.signatures:
        def refine(x):
            return loaded.signatures[serving_api.REFINER_SIGNATURE](x=tf.constant(x, tf.float32))["ab"].numpy()

    return _with_batch(lambda rgb: run_saved(rgb[None])[0], run_saved, network, refine=refine), f"SavedModel {saved}"


def _quick_path(path, render_size, chroma_gain):
    """Whether ``path`` is colourised by tfcolor.deploy.quick (no TensorFlow): the shipped model
    at its own render size and gain (its network converted once per machine, then cached)."""
    from tfcolor.core import rundir, shipped

    if render_size or chroma_gain or not os.path.isdir(shipped.model_dir()) or not os.path.isdir(path):
        return False
    if not os.path.samefile(path, shipped.model_dir()):
        return False
    return not (rundir.read_config(path) or {}).get("model", {}).get("hints", False)


def _gain_note(generator, layer_name):
    layer = next((x for x in generator.layers if x.name == layer_name), None)
    return f", chroma gain {layer.scale:g}" if layer is not None else ""


def _batched_photos(generator, size):
    """A function list of uint8 RGB photos (any sizes) -> their colourisations, the network
    run on :data:`NETWORK_BATCH` photos at a time (fewer padded with zeros); each photo's
    colours do not depend on the photos beside it (checked in tests)."""
    import tensorflow as tf

    from tfcolor.core import color
    from tfcolor.deploy import inference
    from tfcolor.models.hint_inputs import takes_hints

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8)])
    def prepare(image):
        l_full = color.rgb_to_lab(inference.to_float_rgb(image))[..., :1]
        return l_full, inference.network_input(l_full, size)

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([NETWORK_BATCH, size, size, 1], tf.float32)])
    def network(l_small):
        return generator(inference.with_hint_channels(l_small) if takes_hints(generator) else l_small,
                         training=False)

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([1, None, None, 1], tf.float32),
                                                   tf.TensorSpec([1, size, size, 2], tf.float32)])
    def join(l_full, ab_small):
        return inference.to_uint8(inference.recombine(l_full, ab_small))

    def photos(rgbs):
        out = []
        for start in range(0, len(rgbs), NETWORK_BATCH):
            prepared = [prepare(rgb[None]) for rgb in rgbs[start:start + NETWORK_BATCH]]
            l_small = [l for _, l in prepared]
            l_small += [tf.zeros_like(l_small[0])] * (NETWORK_BATCH - len(l_small))
            ab_small = network(tf.concat(l_small, 0))
            out += [join(l_full, ab_small[i:i + 1])[0].numpy() for i, (l_full, _) in enumerate(prepared)]
        return out

    return photos


def _with_batch(one, batch=None, network=None, photos=None, refine=None):
    """The colouriser ``one`` (uint8 [H, W, 3] -> [H, W, 3]) with ``.batch`` for same-size
    stacks [N, H, W, 3] -> [N, H, W, 3] in one call (None: one by one), ``.photos`` for a list
    of photos of any sizes (default: one by one), and ``.hinted(rgb, hints, points=None)``, the
    photo coloured with user hints (tfcolor.deploy.hinting: the hint ``network`` when the model
    is one, else Levin's propagation around its colours, corrected by the model's hint refiner
    ``refine`` when it has one)."""
    def hinted(rgb, hints, points=None):
        from tfcolor.deploy import hinting

        return hinting.hinted(one, hints, rgb, network, points, **({"refine": refine} if refine else {}))

    one.batch = batch
    one.photos = photos or (lambda rgbs: [one(rgb) for rgb in rgbs])
    one.hinted = hinted
    one.takes_hints = network is not None
    one.refines_hints = refine is not None
    return one
