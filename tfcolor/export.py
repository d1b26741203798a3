"""Exports a trained generator as a SavedModel for TensorFlow Serving.

Writes saved_models/NAME/VERSION/ (TF Serving's versioned layout) with signatures:

* ``serving_default``: ``images_bytes`` (string [B], encoded JPEG/PNG/BMP/GIF, color or
  gray, any size) -> ``colorized_bytes`` (string [B], PNG bytes, each at its input's size;
  the ``_bytes`` suffix makes TF Serving's REST API answer in base64).
* ``colorize_uint8``: ``images`` uint8 [B, H, W, 1 or 3] -> ``rgb`` uint8 [B, H, W, 3].
* ``colorize_float``: ``images`` float32 [B, H, W, 1 or 3] in [0, 1] -> ``rgb`` float32.
* ``propagate_hints`` (``colorize_hints`` for a model trained with --hints): ``images_bytes``
  and ``hint_points`` float32 [B, N, 6] (x, y, radius, r, g, b per point; x < 0 pads) ->
  ``colorized_bytes``, the user's colours where given (tfcolor.deploy.serving_api): Levin et
  al. 2004's propagation of them, refined by the model's hint refiner when it has one
  (hint_refiner.keras beside its generator, as the shipped model; also alone: ``refiner``).

The network sees L at its training size; its colour is resized back and joined with the
photo's full-resolution L, inside the graph. Images above --max_pixels are refused with
InvalidArgument (--oversize=refuse) or downscaled first (--oversize=downscale). The
SavedModel carries warmup requests (assets.extra/tf_serving_warmup_requests), and
OUTPUT_ROOT/models.config lists every model there for `tensorflow_model_server
--model_config_file`.

--web=DIR writes a static web page instead (tfcolor/deploy/web.py): the photo is colourised in
the browser (LiteRT.js, WebAssembly or WebGPU) and never leaves the user's machine.

--tflite=fp32,fp16,int8 also writes OUTPUT_ROOT/NAME/tflite/VERSION/VARIANT.tflite for
phones (uint8 photo of any size in, uint8 RGB out; see tfcolor/deploy/lite.py); int8 is calibrated
on --calibration_data (default: the run's training data; a folder of photos will do).
Given no --model_dir or --generator, it exports the shipped model (saved_models/colorizer,
written beside it: saved_models/colorizer/VERSION and .../tflite/VERSION).

Example usage:

    python -m tfcolor.export --tflite=fp32,fp16,int8 --calibration_data=my_photos/
    python -m tfcolor.export --model_dir=runs/quickstart/model --name=quickstart --tflite=fp32,int8
    python -m tfcolor.export --web=site && python -m http.server -d site
    saved_model_cli show --dir saved_models/quickstart/1 --all
"""

import glob
import os
import sys

from absl import app, flags, logging

from tfcolor.core import entry, rundir, shipped

flags.DEFINE_string("model_dir", None, "Training --model_dir (uses generator.keras and config.json); default, "
                    f"with no --generator either: the shipped model, {shipped.MODELS_ROOT}/{shipped.NAME}.")
flags.DEFINE_string("generator", None, "A saved generator (.keras) instead of --model_dir.")
flags.DEFINE_integer("render_size", 0, rundir.RENDER_SIZE_HELP)
flags.DEFINE_float("chroma_gain", 0.0, rundir.CHROMA_GAIN_HELP)
flags.DEFINE_integer("image_size", 0, "Generator input size (default: from config.json or the model).")
flags.DEFINE_string("name", shipped.NAME, "Model name: the folder under --output_root.")
flags.DEFINE_string("output_root", shipped.MODELS_ROOT, "Root of the TF Serving model folders.")
flags.DEFINE_integer("version", 0, "Version folder (0: one more than the highest present).")
flags.DEFINE_integer("max_pixels", 40_000_000, "Largest image accepted by serving_default.")
flags.DEFINE_enum("oversize", "refuse", ["refuse", "downscale"], "What to do above --max_pixels.")
flags.DEFINE_string("web", None, "Write a static web page that colourises photos in the browser into this "
                    "folder instead (the page, the network as a fixed-shape .tflite file, the LiteRT.js runtime "
                    "from web/; serve it with python -m http.server -d DIR). --render_size sets the network's "
                    "size.")
flags.DEFINE_list("tflite", [], "TFLite variants to write as well: any of fp32, fp16, int8.")
flags.DEFINE_string("calibration_data", None,
                    "Prepared dataset folder, TFRecord glob or folder of photos for int8 calibration "
                    "(default: the training data in --model_dir's config.json).")
FLAGS = flags.FLAGS


def _training_data(model_dir):
    config = rundir.read_config(model_dir)
    return (config or {}).get("data", {}).get("train") or None


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # TF's INFO lines (saving, converting) drown ours
    # TensorFlow is imported here, not at the top: `--help` stays instant.
    from tfcolor.deploy import lite
    from tfcolor.deploy.serving import (export_saved_model, load_generator, load_refiner, next_version,
                                        write_models_config)
    from tfcolor.models.hint_inputs import takes_hints

    if FLAGS.model_dir and FLAGS.generator:
        raise app.UsageError("give one of --model_dir and --generator, not both")
    if not FLAGS.model_dir and not FLAGS.generator:
        try:
            FLAGS.model_dir = shipped.default_model()
        except FileNotFoundError as e:
            raise app.UsageError(str(e).replace("--model=", "--model_dir=")) from e
    if FLAGS.web and FLAGS.tflite:
        raise app.UsageError("--web writes the web page alone: run --tflite in a command of its own")
    unknown = sorted(set(FLAGS.tflite) - set(lite.VARIANTS))
    if unknown:
        raise app.UsageError(f"unknown --tflite variant(s) {', '.join(unknown)}; known: {', '.join(lite.VARIANTS)}")
    calibration = FLAGS.calibration_data or _training_data(FLAGS.model_dir)
    if "int8" in FLAGS.tflite and not calibration:
        raise app.UsageError("--tflite=int8 needs --calibration_data (a prepared dataset folder, TFRecord glob "
                             "or folder of photos)")
    if "int8" in FLAGS.tflite and not (os.path.exists(calibration) or glob.glob(calibration)):
        # Before anything is written: the training data a model's config names is on the machine
        # that trained it (the shipped model's is not in a clone).
        where = "--calibration_data" if FLAGS.calibration_data else "the model's training data (its config.json)"
        print(f"error: --tflite=int8 calibrates on {where}, {calibration}, which is not here: give "
              f"--calibration_data=DIR (a prepared dataset, a TFRecord glob or a folder of photos)", file=sys.stderr)
        return 1
    generator, size = load_generator(FLAGS.model_dir, FLAGS.generator, FLAGS.image_size, FLAGS.render_size,
                                     FLAGS.chroma_gain)
    # The model's learned refinement of Levin's propagation of hints (beside its generator), if any.
    refiner = None if takes_hints(generator) else load_refiner(FLAGS.model_dir)
    if FLAGS.web:
        from tfcolor.deploy import web

        try:
            web.node_modules()  # before converting anything: no runtime and no npm is a one-line error
        except FileNotFoundError as e:
            raise app.UsageError(str(e)) from e
        # A run folder's own network (no size or gain changed here) comes from the quick path's
        # cache: converted once per machine.
        plain = FLAGS.model_dir and not (FLAGS.image_size or FLAGS.render_size or FLAGS.chroma_gain)
        network = web.cached_network(FLAGS.model_dir, generator, size) if plain else None
        web.write_site(generator, size, FLAGS.web, FLAGS.name, network=network,
                       refiner=web.cached_refiner(FLAGS.model_dir) or refiner)
        return
    root = os.path.join(FLAGS.output_root, FLAGS.name)
    version = FLAGS.version or next_version(root)
    path = export_saved_model(generator, size, os.path.join(root, str(version)),
                              FLAGS.max_pixels, FLAGS.oversize, name=FLAGS.name, refiner=refiner)
    config = write_models_config(FLAGS.output_root)
    print(f"exported {FLAGS.name} version {version} (generator input {size}x{size}) to {path}; "
          f"TF Serving config: {config}")
    if FLAGS.tflite:
        lite.write_variants(generator, size, os.path.join(root, "tflite", str(version)), FLAGS.tflite,
                            calibration, refiner=refiner)


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
