"""Builds and saves the SavedModel served by TensorFlow Serving (see tfcolor/export.py)."""

import os

from tfcolor.core import rundir
from tfcolor.deploy import serving_api
from tfcolor.models import load_generator_file
from tfcolor.models.hint_inputs import takes_hints


def versions(model_root):
    """The numbered version folders of a TF Serving model folder, as ints (none: [])."""
    if not os.path.isdir(model_root):
        return []
    return [int(v) for v in os.listdir(model_root) if v.isdigit() and os.path.isdir(os.path.join(model_root, v))]


def next_version(model_root):
    return max(versions(model_root), default=0) + 1


def build_module(generator, model_size, max_pixels=40_000_000, oversize="refuse", refiner=None):
    """A tf.Module holding the generator's variables and the four serving functions (five with
    the model's hint ``refiner``: tfcolor.models.hint_refiner)."""
    import tensorflow as tf

    from tfcolor.deploy import inference
    from tfcolor.deploy.lite import refiner_function
    from tfcolor.models.hint_refiner import SIZE

    module = tf.Module()
    module.weights = inference.bare_variables(generator)
    network = inference.TracedOnce(generator, model_size)
    refine = None
    if refiner is not None:
        module.refiner_weights = inference.bare_variables(refiner)
        refine = inference.TracedOnce(refiner, SIZE)
        module.refine = refiner_function(refine)  # the refiner alone: Python's colorize --hints

    # autograph=False: no Python control flow on tensors here (tf.map_fn, tf.cond), and the
    # export then skips converting the code of every function these call.
    @tf.function(autograph=False, input_signature=[tf.TensorSpec([None], tf.string, name=serving_api.INPUT_KEY)])
    def serve_encoded(images_bytes):
        colorized = tf.map_fn(
            lambda data: inference.colorize_encoded(network, data, model_size, max_pixels, oversize),
            images_bytes, fn_output_signature=tf.string)
        return {serving_api.OUTPUT_KEY: colorized}

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def colorize_uint8(images):
        rgb = inference.colorize(network, inference.to_float_rgb(images), model_size)
        return {"rgb": inference.to_uint8(rgb)}

    @tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None, None, None], tf.float32, name="images")])
    def colorize_float(images):
        return {"rgb": inference.colorize(network, inference.to_float_rgb(images), model_size)}

    # The hints: a hint generator's network reads them; any other model's graph propagates them
    # (Levin et al. 2004, tfcolor.core.levin_graph; then its refiner, if any), under the
    # signature name of its engine.
    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec([None], tf.string, name=serving_api.INPUT_KEY),
        tf.TensorSpec([None, None, 6], tf.float32, name=serving_api.HINTS_KEY)])
    def serve_hints(images_bytes, hint_points):
        colorized = tf.map_fn(
            lambda args: inference.colorize_encoded(network, args[0], model_size, max_pixels, oversize, args[1],
                                                    refine),
            (images_bytes, hint_points), fn_output_signature=tf.string)
        return {serving_api.OUTPUT_KEY: colorized}

    module.serve_encoded = serve_encoded
    module.colorize_uint8 = colorize_uint8
    module.colorize_float = colorize_float
    module.serve_hints = serve_hints
    module.hints_signature = serving_api.HINTS_SIGNATURE if takes_hints(generator) else serving_api.PROPAGATE_SIGNATURE
    return module


def export_saved_model(generator, model_size, path, max_pixels=40_000_000, oversize="refuse",
                       name="colorizer", refiner=None):
    """Writes the SavedModel and its warmup requests (assets.extra) to ``path``; with the
    model's hint ``refiner`` its hints signature refines Levin's colours, and its
    ``serving_api.REFINER_SIGNATURE`` runs the refiner alone."""
    import tensorflow as tf

    module = build_module(generator, model_size, max_pixels, oversize, refiner)
    signatures = {
        "serving_default": module.serve_encoded,
        "colorize_uint8": module.colorize_uint8,
        "colorize_float": module.colorize_float,
    }
    signatures[module.hints_signature] = module.serve_hints
    if refiner is not None:
        signatures[serving_api.REFINER_SIGNATURE] = module.refine
    # No gradient functions: nothing differentiates a served model, and tracing those of the
    # CPU convolutions' custom gradients (tfcolor.models.matmul_conv) took 1.7 s of an export.
    tf.saved_model.save(module, path, signatures=signatures,
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
    serving_api.write_warmup(path, name, model_size, module.hints_signature)
    return path


def write_models_config(output_root, container_root="/models"):
    """Writes OUTPUT_ROOT/models.config for every model folder there, with base paths as
    seen inside the TF Serving container (``-v $PWD/OUTPUT_ROOT:/models``)."""
    names = sorted(n for n in os.listdir(output_root) if versions(os.path.join(output_root, n)))
    path = os.path.join(output_root, "models.config")
    with open(path, "w") as f:
        f.write(serving_api.models_config({n: f"{container_root}/{n}" for n in names}))
    return path


def load_refiner(model_dir):
    """A model folder's hint refiner (tfcolor.models.hint_refiner: rundir.HINT_REFINER beside its
    generator), or None: a folder without one, or a hint generator's (whose network reads the
    hints itself)."""
    path = rundir.path(model_dir, rundir.HINT_REFINER) if model_dir else None
    if not path or not os.path.isfile(path):
        return None
    from tfcolor.models import hint_refiner

    return hint_refiner.load(path)


def load_generator(model_dir=None, generator_path=None, image_size=0, render_size=0, chroma_gain=0.0):
    """A saved generator and its input size (from the run's config.json or the model).

    With ``render_size`` the generator is rebuilt (same weights) to take render_size x
    render_size inputs: the size the network sees of every photo (inference.generator_at).
    Without it, a run folder whose config.json names a ``render_size`` (the shipped model's
    does: the size chosen for it on held-out photos) is rendered at that size, any other at
    its training size. ``chroma_gain`` likewise (inference.with_chroma_gain): 0 takes the
    config's ``chroma_gain``, else 1.

    Loading a ``.keras`` generator needs tfcolor's custom layers registered: use this (or
    ``tfcolor.models.load_generator_file``) rather than a bare ``keras.models.load_model``.
    """
    from tfcolor.deploy.inference import generator_at, with_chroma_gain

    generator = load_generator_file(generator_path or rundir.generator_file(model_dir))
    config = rundir.read_config(model_dir) or {}
    image_size = image_size or config.get("data", {}).get("image_size", 0) or generator.input_shape[1]
    render_size = render_size or config.get(rundir.RENDER_SIZE, 0)
    if render_size:
        generator, image_size = generator_at(generator, render_size), render_size
    return with_chroma_gain(generator, chroma_gain or config.get(rundir.CHROMA_GAIN, 1.0)), image_size
