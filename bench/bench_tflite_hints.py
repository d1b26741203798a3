"""Hints inside a .tflite file: the shipped model's ``colorize_hints`` signature (Levin et al.
2004's solve in the file's own graph, tfcolor.core.levin_graph) against Python's
`colorize --hints` (tfcolor.deploy.hinting, numpy): PSNR between the two, and the time of a
hinted call against the automatic ``colorize`` call of the same file, best of --repeats.

Photos: the embedded sample photos (data_prep.sample_photos), each with --points points drawn
from its true colours (Zhang et al.'s protocol, tfcolor.core.hints.protocol_points).

Example usage:

    python -m bench.bench_tflite_hints --points=10
"""

import time

import numpy as np
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
          "numpy propagation (s) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, rgb in sample_photos().items():
        points = hint_format.protocol_points(hint_format.lab_of_rgb(rgb)[..., 1:], FLAGS.points,
                                             np.random.default_rng(0))
        hints = hint_format.Hints(tuple(points))
        rows = hinting.hint_rows(hints)
        got = lite.colorize_with(interp, rgb, rows)
        want = hinting.propagate(rgb, hints)
        mse = np.mean((got.astype(np.float64) - want) ** 2)
        psnr = 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))
        plain = best_seconds(lambda: lite.colorize_with(interp, rgb), FLAGS.repeats)
        hinted = best_seconds(lambda: lite.colorize_with(interp, rgb, rows), FLAGS.repeats)
        numpy_s = best_seconds(lambda: hinting.propagate(rgb, hints), FLAGS.repeats)
        print(f"| {name} | {rgb.shape[1]}x{rgb.shape[0]} | {psnr:.1f} | {plain:.3f} | {hinted:.3f} | {numpy_s:.3f} |")


if __name__ == "__main__":
    app.run(main)
