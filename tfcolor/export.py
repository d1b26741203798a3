"""Exports a trained generator as a SavedModel for TensorFlow Serving.

Writes saved_models/NAME/VERSION/ (TF Serving's versioned layout) with signatures:

* ``serving_default``: ``images`` (string [B], encoded JPEG/PNG/BMP/GIF, color or
  gray, any size) -> ``colorized`` (string [B], PNG bytes, each at its input's size).
* ``colorize_uint8``: ``images`` uint8 [B, H, W, 1 or 3] -> ``rgb`` uint8 [B, H, W, 3].
* ``colorize_float``: ``images`` float32 [B, H, W, 1 or 3] in [0, 1] -> ``rgb`` float32.

The network sees L at its training size; its colour is resized back and joined with the
photo's full-resolution L, inside the graph. Images above --max_pixels are refused with
InvalidArgument (--oversize=refuse) or downscaled first (--oversize=downscale).

Example usage:

    python -m tfcolor.export --model_dir=runs/quickstart/model --name=quickstart
    saved_model_cli show --dir saved_models/quickstart/1 --all
"""

import json
import os

from absl import app, flags

flags.DEFINE_string("model_dir", None, "Training --model_dir (uses generator.keras and config.json).")
flags.DEFINE_string("generator", None, "A saved generator (.keras) instead of --model_dir.")
flags.DEFINE_integer("image_size", 0, "Generator input size (default: from config.json or the model).")
flags.DEFINE_string("name", "colorizer", "Model name: the folder under --output_root.")
flags.DEFINE_string("output_root", "saved_models", "Root of the TF Serving model folders.")
flags.DEFINE_integer("version", 0, "Version folder (0: one more than the highest present).")
flags.DEFINE_integer("max_pixels", 40_000_000, "Largest image accepted by serving_default.")
flags.DEFINE_enum("oversize", "refuse", ["refuse", "downscale"], "What to do above --max_pixels.")
FLAGS = flags.FLAGS


def next_version(model_root):
    versions = [int(v) for v in os.listdir(model_root) if v.isdigit()] if os.path.isdir(model_root) else []
    return max(versions, default=0) + 1


def build_module(generator, model_size, max_pixels=40_000_000, oversize="refuse"):
    """A tf.Module holding the generator and the three serving functions."""
    import tensorflow as tf

    from tfcolor import inference

    module = tf.Module()
    module.generator = generator

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def serve_encoded(images):
        colorized = tf.map_fn(
            lambda data: inference.colorize_encoded(generator, data, model_size, max_pixels, oversize),
            images, fn_output_signature=tf.string)
        return {"colorized": colorized}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def colorize_uint8(images):
        rgb = inference.colorize(generator, inference.to_float_rgb(images), model_size)
        return {"rgb": inference.to_uint8(rgb)}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32, name="images")])
    def colorize_float(images):
        return {"rgb": inference.colorize(generator, inference.to_float_rgb(images), model_size)}

    module.serve_encoded = serve_encoded
    module.colorize_uint8 = colorize_uint8
    module.colorize_float = colorize_float
    return module


def export_saved_model(generator, model_size, path, max_pixels=40_000_000, oversize="refuse"):
    import tensorflow as tf

    module = build_module(generator, model_size, max_pixels, oversize)
    signatures = {
        "serving_default": module.serve_encoded,
        "colorize_uint8": module.colorize_uint8,
        "colorize_float": module.colorize_float,
    }
    tf.saved_model.save(module, path, signatures=signatures)
    return path


def load_generator(model_dir=None, generator_path=None, image_size=0):
    import keras

    from tfcolor.models.layers import FusedBatchNormalization  # noqa: F401 (registers it)
    from tfcolor.models.pixeltcl import PixelTCL  # noqa: F401

    path = generator_path or os.path.join(model_dir, "generator.keras")
    generator = keras.models.load_model(path, compile=False)
    if not image_size and model_dir and os.path.exists(os.path.join(model_dir, "config.json")):
        with open(os.path.join(model_dir, "config.json")) as f:
            image_size = json.load(f)["data"]["image_size"]
    return generator, image_size or generator.input_shape[1]


def main(argv):
    del argv
    if bool(FLAGS.model_dir) == bool(FLAGS.generator):
        raise app.UsageError("give exactly one of --model_dir and --generator")
    generator, size = load_generator(FLAGS.model_dir, FLAGS.generator, FLAGS.image_size)
    root = os.path.join(FLAGS.output_root, FLAGS.name)
    version = FLAGS.version or next_version(root)
    path = export_saved_model(generator, size, os.path.join(root, str(version)),
                              FLAGS.max_pixels, FLAGS.oversize)
    print(f"exported {FLAGS.name} version {version} (generator input {size}x{size}) to {path}")


if __name__ == "__main__":
    app.run(main)
