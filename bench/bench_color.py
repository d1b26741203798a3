"""Throughput of sRGB -> Lab on 256x256 images, several implementations side by side.

Example usage:

    python bench/bench_color.py --repeats=3
"""

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from tfcolor.core import color

flags.DEFINE_integer("repeats", 3, "Timed repeats of each variant (interleaved).")
flags.DEFINE_integer("images", 200, "Images per timed repeat.")
FLAGS = flags.FLAGS


def plain_rgb_to_lab(rgb_u8):
    """The textbook version: tf.pow for the gamma and the cube root."""
    rgb = tf.cast(rgb_u8, tf.float32) / 255.0
    linear = tf.where(rgb > 0.04045, tf.pow((tf.maximum(rgb, 0.04045) + 0.055) / 1.055, 2.4), rgb / 12.92)
    xyz = tf.tensordot(linear, tf.constant(color._RGB_TO_XYZN), axes=1)
    f = tf.where(xyz > 0.008856, tf.pow(tf.maximum(xyz, 0.008856), 1 / 3), 7.787 * xyz + 16 / 116)
    return tf.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def main(argv):
    del argv
    import skimage.data

    photo = skimage.data.astronaut()[:256, :256]
    variants = {
        "plain tf.pow (float)": tf.function(plain_rgb_to_lab),
        "rgb_to_lab float input": tf.function(lambda x: color.rgb_to_lab(tf.cast(x, tf.float32) / 255.0)),
        "rgb_to_lab uint8 (table)": tf.function(color.rgb_to_lab),
        "rgb_to_lab uint8 + XLA": tf.function(color.rgb_to_lab, jit_compile=True),
    }
    for fn in variants.values():
        np.testing.assert_allclose(fn(photo).numpy(), variants["plain tf.pow (float)"](photo).numpy(), atol=2e-3)
    results = {name: [] for name in variants}
    for _ in range(FLAGS.repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(FLAGS.images):
                fn(photo)
            results[name].append(FLAGS.images / (time.perf_counter() - start))
    base = max(results["plain tf.pow (float)"])
    print("sRGB -> Lab, one 256x256 image per call, TF default threads")
    for name, rates in results.items():
        runs = " ".join(f"{r:7.1f}" for r in rates)
        print(f"  {name:26s} {runs}   best {max(rates):7.1f} img/s  ({max(rates) / base:.2f}x plain)")


if __name__ == "__main__":
    app.run(main)
