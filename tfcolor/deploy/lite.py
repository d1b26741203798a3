"""TFLite models for phones: fp32, fp16 and int8, uint8 photo in, uint8 RGB photo out.

Each .tflite file has three signatures:

* ``colorize``: ``image`` uint8 [1, H, W, 3] (any H, W: resize the input tensor, or let
  the signature runner do it) -> ``rgb`` uint8 [1, H, W, 3]. The generator sees L resized to
  its fixed input size; its colour is resized back and joined with the photo's own L, as in
  the SavedModel (tfcolor.deploy.inference).
* ``generator``: ``l`` float32 [1, S, S, 1] (L/50 - 1) -> ``ab`` float32 [1, S, S, 2]
  (ab/110): the bare network, for parity checks and for apps with their own colour code.
* ``colorize_hints``: ``image`` as ``colorize``, ``hints`` float32 [N, 6], a row per point
  (x, y, radius in the photo's pixels, r, g, b 0-255: tfcolor.core.hints.points_array; rows with
  x < 0 are padding) and ``reference`` uint8 [M, 3], a reference photo's pixels (RGB; "colour
  it like this one": tfcolor.deploy.hinting.reference_pixels, its long side at most 160 px;
  M = 0: none) -> ``rgb``. Give every input (a LiteRT tensor left unset holds a row of zeros).
  A hint generator's network reads the hints; any other network's file propagates them by
  Levin et al. 2004 in its own graph (tfcolor.core.levin_graph: the numbers of `colorize
  --hints`, 0.2-0.45 s a photo on 2 cores); with no row, ``colorize``'s colours. A reference
  moves the colours to its a*b* mean and spread, as `colorize --hints` does. With the model's
  hint refiner (tfcolor.models.hint_refiner, exported when the model has one), Levin's colours
  are corrected by it in the graph, and the file has a fourth signature:
* ``refiner``: ``x`` float32 [1, 160, 160, 6] -> ``ab`` [1, 160, 160, 2], the refiner alone
  (what Python's `colorize --hints` runs after its own Levin solve).

Variants: ``fp32``; ``fp16`` (float16 weights, half the size, computed in float32 on CPUs);
``int8`` (full-integer weights and activations of the network, calibrated on photos from
the prepared TFRecords; the colour conversion around it stays float, because 8-bit
intermediate values in the sRGB gamma curve would cost more accuracy than they save time; so
does Levin's solve in ``colorize_hints``).
Every variant runs the generator with its transposed convolutions rewritten as conv +
depth_to_space (tfcolor.models.subpixel): the same numbers in float, and in int8 it avoids
TFLite's single-threaded reference kernel for quantised TRANSPOSE_CONV.
"""

import os
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from tfcolor.core import color, fs
from tfcolor.deploy import inference
from tfcolor.deploy.litert import colorize_with, interpreter, takes_hint_rows  # noqa: F401 (lite's API)
from tfcolor.deploy.serving_api import REFINER_SIGNATURE
from tfcolor.models import hint_refiner, matmul_conv
from tfcolor.models.subpixel import to_subpixel

VARIANTS = ("fp32", "fp16", "int8")


def mobile_module(generator, model_size, rewrite_transposed=True, signatures=None, refiner=None):
    """tf.Module with the functions of the .tflite file: ``signatures`` (default
    ``signatures_of(generator, refiner)``) of ``colorize``, ``generator``, ``colorize_hints`` and
    (with a hint ``refiner``) ``refiner``. Only those are attached: tf.saved_model.save traces
    every function a module holds, and the photo-in, photo-out ``colorize`` is most of that work
    (a fifth of a bare network's conversion)."""
    net = to_subpixel(generator) if rewrite_transposed else generator
    signatures = signatures_of(net, refiner) if signatures is None else signatures
    module = tf.Module()
    module.weights = inference.bare_variables(net)
    module.net_name = net.name
    module.channels = net.input_shape[-1]  # 1, or L and the hint channels
    traced = inference.TracedOnce(net, model_size)  # the network traced once for every signature
    refine = None
    if refiner is not None:
        module.refiner_weights = inference.bare_variables(refiner)
        refine = inference.TracedOnce(refiner, hint_refiner.SIZE)

    # autograph=False: the functions hold no Python control flow on tensors, and converting
    # their code (inference, colour, the layers) took 2 of the 38 s of a three-variant export.
    @tf.function(autograph=False, input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="image")])
    def colorize(image):
        rgb = inference.colorize(traced, inference.to_float_rgb(image), model_size)
        return {"rgb": inference.to_uint8(rgb)}

    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec([1, model_size, model_size, module.channels], tf.float32, name="l")])
    def bare(l):
        return {"ab": traced(l)}

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="image"),
                                                   tf.TensorSpec([None, 6], tf.float32, name="hints"),
                                                   tf.TensorSpec([None, 3], tf.uint8, name="reference")])
    def colorize_hints(image, hints, reference):
        rgb = inference.colorize_points(traced, inference.to_float_rgb(image), model_size, hints, reference=reference,
                                        refiner=refine)
        return {"rgb": inference.to_uint8(rgb)}

    functions = {"colorize": colorize, "generator": bare, "colorize_hints": colorize_hints}
    if refiner is not None:
        functions[REFINER_SIGNATURE] = refiner_function(refine)
    unknown = sorted(set(signatures) - set(signatures_of(net, refiner)))
    if unknown:
        raise ValueError(f"{net.name} has no {', '.join(unknown)} signature")
    for key in signatures:
        setattr(module, key, functions[key])
    return module


def signatures_of(generator, refiner=None):
    """The signatures of a generator's .tflite file (with its hint ``refiner``, if any)."""
    del generator  # every kind has the three (colorize_hints: its network or Levin's propagation)
    return ("colorize", "generator", "colorize_hints") + ((REFINER_SIGNATURE,) if refiner is not None else ())


def refiner_function(refine):
    """The ``refiner`` signature's function of a traced hint refiner (fixed shapes)."""
    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec([1, hint_refiner.SIZE, hint_refiner.SIZE, hint_refiner.CHANNELS], tf.float32, name="x")])
    def refine_alone(x):
        return {"ab": refine(x)}

    return refine_alone


def convert_refiner(refiner):
    """.tflite bytes (fp32) of a hint refiner alone: its ``refiner`` signature, fixed shapes (for
    Python's quick path and the web page, which run Levin's solve themselves)."""
    module = tf.Module()
    module.weights = inference.bare_variables(refiner)
    module.refiner = refiner_function(inference.TracedOnce(refiner, hint_refiner.SIZE))
    with tempfile.TemporaryDirectory() as tmp:
        tf.saved_model.save(module, tmp, signatures={REFINER_SIGNATURE: module.refiner},
                            options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
        return _float_converter(tmp, [REFINER_SIGNATURE]).convert()


def _float_converter(saved_model, signatures, fp16=False):
    """A converter of a SavedModel's ``signatures`` to float TFLite (fp16: float16 weights)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=list(signatures))
    # No conversion metadata (the converter's options and environment, which no runtime
    # reads): writing it unpacks and repacks the whole model in Python, 1 s of a 64 px U-Net.
    converter.exclude_conversion_metadata = True
    if fp16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter


def _folder_photos(folder, model_size, count):
    """Up to ``count`` photos of a folder (evenly spread over its sorted files), each its
    largest centred square resized to [S, S, 3]; unreadable files are passed over."""
    from tfcolor.core.images import Item, SkipImage, load_rgb, photo_files

    paths = photo_files(folder)
    paths = [paths[i] for i in np.unique(np.linspace(0, len(paths) - 1, num=count).astype(int))] if paths else []
    photos = []
    for path in paths:
        try:
            rgb, _ = load_rgb(Item(key=path, path=path))
        except SkipImage:
            continue
        side = min(rgb.shape[:2])
        top, left = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
        square = tf.image.resize(rgb[top:top + side, left:left + side], [model_size, model_size], antialias=True)
        photos.append(inference.to_uint8(square / 255.0).numpy())
    return photos


def representative_photos(path, model_size, count=64):
    """Up to ``count`` uint8 RGB photos [S, S, 3] (center crops) from prepared Lab TFRecords
    (a dataset folder's validation, else test, else training shards, or a TFRecord glob) or
    from a folder of photo files."""
    from tfcolor.core import data, schema

    files = schema.shards_to_read(path)
    if not files and os.path.isdir(path):
        photos = _folder_photos(path, model_size, count)
        if not photos:
            raise ValueError(f"{path} holds no TFRecord shards and no readable photos")
        return photos
    if not files:
        raise ValueError(f"{path} holds no TFRecord shards (prepare it with data_prep)")
    dataset = data.make_dataset(files, batch_size=1, training=False, image_size=model_size,
                                repeat=False)
    photos = []
    for l_norm, ab_norm in dataset.take(count):
        rgb = color.normalized_lab_to_rgb(l_norm, ab_norm)[0]
        photos.append(inference.to_uint8(rgb).numpy())
    if not photos:
        raise ValueError(f"no records for calibration in {path}")
    return photos


def _representative_dataset(photos, channels=1):
    def generate():
        for photo in photos:
            rgb = photo.astype(np.float32)[None] / 255.0
            l_norm = color.normalize_l(color.rgb_to_lab(rgb)[..., :1]).numpy()
            yield "colorize", {"image": photo[None]}
            yield "generator", {"l": np.concatenate([l_norm] + [np.zeros_like(l_norm)] * (channels - 1), -1)}
            # The hints signature: a hint generator's with one point of the photo's own colour;
            # another's with none, its network alone. (Levin's solve, in an IF branch, must not
            # run here: the quantiser matches no denylisted name inside a branch, and it
            # quantises every tensor it has statistics for.)
            h, w = photo.shape[:2]
            hints = [[w / 2, h / 2, 2, *photo[h // 2, w // 2]]] if channels > 1 else np.zeros([0, 6])
            yield "colorize_hints", {"image": photo[None], "hints": np.asarray(hints, np.float32),
                                     "reference": np.zeros([0, 3], np.uint8)}
    return generate


def convert(generator, model_size, variant, calibration_photos=None, rewrite_transposed=True, refiner=None):
    """The .tflite bytes of one variant; int8 needs ``calibration_photos`` (uint8 [S, S, 3]).
    ``rewrite_transposed=False`` keeps TRANSPOSE_CONV (for comparisons only: slow in int8).
    ``refiner``: the model's hint refiner (tfcolor.models.hint_refiner), or None."""
    return dict(converted(generator, model_size, [variant], calibration_photos, rewrite_transposed,
                          refiner))[variant]


def converted(generator, model_size, variants, calibration_photos=None, rewrite_transposed=True, refiner=None):
    """Yields (variant, .tflite bytes) for each of ``variants``, all converted from one
    SavedModel of the mobile module (built and saved once: a third of each conversion). The
    hint ``refiner`` stays float in every variant."""
    for variant in variants:
        if variant not in VARIANTS:
            raise ValueError(f"unknown TFLite variant {variant!r}; known: {', '.join(VARIANTS)}")
        if variant == "int8" and not calibration_photos:
            raise ValueError("the int8 variant needs calibration photos (prepared TFRecords)")
    with matmul_conv.tf_kernels():  # TFLite's own convolutions, no EXTRACT_PATCHES
        yield from _converted(generator, model_size, variants, calibration_photos, rewrite_transposed,
                              signatures=signatures_of(generator, refiner), refiner=refiner)


def convert_network(generator, model_size, variant="fp32"):
    """.tflite bytes of the bare network alone (the ``generator`` signature: ``l`` float32
    [1, S, S, 1] -> ``ab`` [1, S, S, 2], fixed shapes): for runtimes that take no dynamic shape
    and no image ops, such as LiteRT.js in the browser (tfcolor.deploy.web). ``variant``: fp32
    or fp16 (float16 weights, computed in float32)."""
    if variant not in ("fp32", "fp16"):
        raise ValueError(f"the bare network is fp32 or fp16, not {variant!r}")
    with matmul_conv.tf_kernels():
        return dict(_converted(generator, model_size, [variant], None, True, signatures=("generator",)))[variant]


def _converted(generator, model_size, variants, calibration_photos, rewrite_transposed, signatures, refiner=None):
    module = mobile_module(generator, model_size, rewrite_transposed, signatures, refiner)
    with tempfile.TemporaryDirectory() as tmp:
        # Through a SavedModel: from_concrete_functions gave all-NaN outputs in LiteRT.js.
        tf.saved_model.save(module, tmp, signatures={key: getattr(module, key) for key in signatures},
                            options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))  # (no training)

        def convert_float(fp16=False):
            return _float_converter(tmp, signatures, fp16).convert()

        fp32 = None
        for variant in variants:
            if variant == "fp16":
                yield variant, convert_float(fp16=True)
                continue
            fp32 = fp32 or convert_float()  # int8 is calibrated on the fp32 file: one conversion for both
            if variant == "fp32":
                yield variant, fp32
            else:
                photos = _representative_dataset(calibration_photos, module.channels)
                yield variant, _quantize_network_only(fp32, photos, module.net_name)


def _quantize_network_only(float_model, representative_dataset, net_name):
    """Full-integer quantisation of the network's ops of a float .tflite model, calibrated on
    ``representative_dataset``; every op outside the network (the colour conversion and resizing
    around it, Levin's solve) is denylisted and stays float, with QUANTIZE and DEQUANTIZE at the
    network's borders. Ops are told apart by their output tensor names, which carry the Keras
    model's name scope. (What the converter does with a representative dataset, calibration then
    MLIR quantisation, and tf.lite.experimental's QuantizationDebugger with denylisted nodes,
    without converting the SavedModel again: the converter's own calibration starts from a fresh
    float conversion; that gave a file of the same size and the same outputs on every
    signature, the int8 step 15.8 s against 7.3 s from the fp32 file for a 64 px U-Net.
    Quantising the whole graph first, as the debugger does, fails on the float-only ops of the
    solve's loops.)"""
    from tensorflow.lite.python import convert
    from tensorflow.lite.python.lite import RepresentativeDataset
    from tensorflow.lite.python.optimize import calibrator

    with warnings.catch_warnings():  # TensorFlow's calibrator runs tf.lite.Interpreter, which warns of its own end
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
        calibrated = calibrator.Calibrator(calibrator.add_intermediate_tensors(float_model)).calibrate(
            RepresentativeDataset(representative_dataset).input_gen)
    in_network = lambda name: all(part.startswith(net_name) for part in name.split(";") if part)  # noqa: E731
    return convert.mlir_quantize(
        calibrated, disable_per_channel=False, fully_quantize=False, enable_numeric_verify=False,
        denylisted_ops=None, denylisted_nodes=sorted(name for name in _op_names(calibrated) if not in_network(name)))


def _op_names(model):
    """The first output tensor's name of every op of a .tflite model, in every subgraph (read in
    place from the flatbuffer: unpacking the whole model into objects took a second)."""
    from tensorflow.lite.python import schema_py_generated as schema

    root = schema.Model.GetRootAs(model, 0)
    names = set()
    for s in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            if op.OutputsLength():
                names.add(subgraph.Tensors(op.Outputs(0)).Name().decode())
    return names


def write_variants(generator, model_size, directory, variants, calibration_data=None, log=print, refiner=None):
    """Writes DIRECTORY/VARIANT.tflite for each variant (with the model's hint ``refiner``, if
    any); returns {variant: path}."""
    photos = None
    if "int8" in variants:
        if not calibration_data:
            raise ValueError("int8 needs calibration data: --calibration_data=DATASET_DIR, a TFRecord glob or a "
                             "folder of photos")
        photos = representative_photos(calibration_data, model_size)
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for variant, model in converted(generator, model_size, variants, photos, refiner=refiner):
        paths[variant] = os.path.join(directory, f"{variant}.tflite")
        fs.write_bytes_atomic(paths[variant], model)  # an earlier file stays whole until replaced
        log(f"wrote {paths[variant]} ({len(model) / 1e6:.1f} MB)")
    return paths
