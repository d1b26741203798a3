"""Hints inside a .tflite file: the shipped model's ``colorize_hints`` signature (Levin et al.
2004's solve in the file's own graph, tfcolor.core.levin_graph) against Python's
`colorize --hints` (tfcolor.deploy.hinting, numpy): PSNR between the two, and the time of a
hinted call against the automatic ``colorize`` call of the same file, best of --repeats; then
the same points with a reference photo (the next sample photo's pixels, ``reference``) against
`colorize --hints` with that reference (its colours from the file's ``colorize``).

Photos: the embedded sample photos (data_prep.sample_photos), each with --points points drawn
from its true colours (Zhang et al.'s protocol, tfcolor.core.hints.protocol_points).

Example usage:

    python -m bench.bench_tflite_hints --points=10
"""

import os
import tempfile
import time

import numpy as np
from PIL import Image
from absl import app, flags

from bench.common import best_seconds
from data_prep.sample_photos import sample_photos
from tfcolor.core import hints as hint_format, shipped
from tfcolor.deploy import hinting, lite
from tfcolor.deploy.serving import load_generator

flags.DEFINE_integer("points", 10, "Points per photo.")
flags.DEFINE_integer("repeats", 3, "Timed calls per photo and signature (best is kept).")
flags.DEFINE_enum("variant", "fp32", ["fp32", "fp16"], "TFLite variant (int8 needs calibration photos).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    generator, size = load_generator(shipped.model_dir())
    start = time.perf_counter()
    interp = lite.interpreter(lite.convert(generator, size, FLAGS.variant))
    print(f"converted the shipped model ({FLAGS.variant}, {size} px) in {time.perf_counter() - start:.0f} s")
    print("| photo | size | PSNR TFLite hints vs colorize --hints (dB) | colorize (s) | colorize_hints (s) | "
          "numpy propagation (s) | with a reference: PSNR (dB) | with a reference (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    photos = sample_photos()
    with tempfile.TemporaryDirectory() as folder:  # the reference photos
        for index, (name, rgb) in enumerate(photos.items()):
            _row(interp, folder, photos, index, name, rgb)


def _row(interp, folder, photos, index, name, rgb):
    """One table row: ``rgb`` with its points, then with the next photo as its reference."""
    points = hint_format.protocol_points(hint_format.lab_of_rgb(rgb)[..., 1:], FLAGS.points,
                                         np.random.default_rng(0))
    hints = hint_format.Hints(tuple(points))
    rows = hinting.hint_rows(hints)
    psnr = _psnr(lite.colorize_with(interp, rgb, rows), hinting.propagate(rgb, hints))
    plain = best_seconds(lambda: lite.colorize_with(interp, rgb), FLAGS.repeats)
    hinted = best_seconds(lambda: lite.colorize_with(interp, rgb, rows), FLAGS.repeats)
    numpy_s = best_seconds(lambda: hinting.propagate(rgb, hints), FLAGS.repeats)
    other = list(photos)[(index + 1) % len(photos)]
    reference = os.path.join(folder, other + ".png")
    Image.fromarray(photos[other]).save(reference)
    pixels = hinting.reference_pixels(reference)
    got = lite.colorize_with(interp, rgb, rows, pixels)
    referenced_hints = hint_format.Hints(tuple(points), reference=reference)
    want = hinting.hinted(lambda x: lite.colorize_with(interp, x), referenced_hints, rgb)
    referenced = best_seconds(lambda: lite.colorize_with(interp, rgb, rows, pixels), FLAGS.repeats)
    print(f"| {name} | {rgb.shape[1]}x{rgb.shape[0]} | {psnr:.1f} | {plain:.3f} | {hinted:.3f} | {numpy_s:.3f} | "
          f"{_psnr(got, want):.1f} | {referenced:.3f} |")


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


if __name__ == "__main__":
    app.run(main)
