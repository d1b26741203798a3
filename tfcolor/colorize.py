"""Colourises photo files with a trained model.

--model: a SavedModel (a version folder, or a TF Serving model folder: its highest version),
a .tflite file, or a training --model_dir. --input: files, globs or folders (searched
recursively), any size, format and mode (gray, RGB, RGBA, palette, CMYK, 16-bit). Each photo
comes back as a PNG at its own resolution in --output_dir (transparency kept); with
--side_by_side also NAME_side_by_side.png (gray | colourised). Unreadable files are reported
and skipped; the exit status is non-zero only when nothing could be colourised.

Example usage:

    python -m tfcolor.colorize --model=saved_models/quickstart --input=photos/ --output_dir=out
    python -m tfcolor.colorize --model=saved_models/quickstart/tflite/1/int8.tflite \\
        --input='old/*.jpg' --output_dir=out --side_by_side
"""

import os
import sys

from absl import app, flags, logging

from tfcolor.deploy.colorizer import collect_inputs, load_colorizer, output_names, read_photo, side_by_side
from tfcolor.core.progress import Progress

flags.DEFINE_string("model", None, "SavedModel folder, .tflite file or training --model_dir.")
flags.DEFINE_list("input", None, "Photo files, globs or folders (comma-separated).")
flags.DEFINE_string("output_dir", "colorized", "Where the colourised PNGs go.")
flags.DEFINE_bool("side_by_side", False, "Also write NAME_side_by_side.png (gray | colourised).")
flags.DEFINE_bool("recursive", True, "Search folders recursively.")
flags.DEFINE_bool("overwrite", True, "Replace existing outputs (else skip photos already done).")
flags.DEFINE_integer("max_pixels", 200_000_000, "Larger photos are skipped (decompression bombs).")
flags.DEFINE_integer("render_size", 0, "The size the network sees of each photo: the generator rebuilt "
                     "at this input size, same weights (like DeOldify's render factor); 0: its training "
                     "size. Output size and L are unchanged.")
flags.DEFINE_integer("threads", 0, "TFLite threads (0: all cores).")
flags.mark_flags_as_required(["model", "input"])
FLAGS = flags.FLAGS


def _save(path, rgb, alpha=None):
    import numpy as np
    from PIL import Image

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    image = Image.fromarray(rgb if alpha is None else np.dstack([rgb, alpha]))
    image.save(path)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # TF's INFO lines (saving, converting) drown ours
    from tfcolor.core.images import SkipImage

    inputs, missing = collect_inputs(FLAGS.input, FLAGS.recursive)
    for spec in missing:
        print(f"warning: {spec}: no image files", file=sys.stderr)
    if not inputs:
        print("error: no input photos found", file=sys.stderr)
        return 1
    try:
        colorize, description = load_colorizer(FLAGS.model, FLAGS.threads or None, FLAGS.render_size)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"colourising {len(inputs)} photo(s) with {description} into {FLAGS.output_dir}")
    names = output_names([name for _, name in inputs])
    progress = Progress(len(inputs), label="colorize ")
    done, failed = 0, []
    for (path, _), name in zip(inputs, names):
        target = os.path.join(FLAGS.output_dir, name)
        if not FLAGS.overwrite and os.path.exists(target):
            progress.update()
            done += 1
            continue
        try:
            rgb, alpha = read_photo(path, FLAGS.max_pixels)
            result = colorize(rgb)
            _save(target, result, alpha)
            if FLAGS.side_by_side:
                _save(os.path.splitext(target)[0] + "_side_by_side.png", side_by_side(rgb, result))
            done += 1
        except SkipImage as e:
            failed.append((path, str(e)))
        except Exception as e:  # noqa: BLE001 (a bad photo must not stop the others)
            failed.append((path, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
        progress.update(extra=f"{len(failed)} skipped" if failed else "")
    progress.close()
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"{done} colourised, {len(failed)} skipped; outputs in {FLAGS.output_dir}")
    return 0 if done else 1


def run():
    """The console script's entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
