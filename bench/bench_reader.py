"""Lab TFRecords: record size, stored-colour error and tf.data read + parse throughput.

Example usage:

    python bench/bench_reader.py --images=1000
"""

import json
import os
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from bench.photos import write_jpegs
from data_prep import splits
from data_prep.convert import PrepConfig
from data_prep.pipeline import write_dataset
from data_prep.sample_photos import sample_photos
from tfcolor.core import color, data, schema

flags.DEFINE_integer("images", 1000, "Records in the benchmark dataset.")
flags.DEFINE_integer("repeats", 3, "Timed passes of each reader variant (interleaved).")
flags.DEFINE_string("json_out", "", "Also write the best img/s of each variant here as JSON.")
FLAGS = flags.FLAGS


def storage_error():
    """Mean and max CIE76 error of the 8-bit Lab encoding on the sample photos."""
    errors = []
    for photo in sample_photos().values():
        lab = color.rgb_to_lab(photo)
        stored = schema.decode_lab(schema.encode_lab(lab))
        errors.append(tf.norm(stored - lab, axis=-1).numpy().ravel())
    errors = np.concatenate(errors)
    return errors.mean(), errors.max()


def time_pass(ds, steps):
    start = time.perf_counter()
    count = 0
    for l_norm, _ in ds.take(steps):
        count += int(l_norm.shape[0])
    return count / (time.perf_counter() - start)


def main(argv):
    del argv
    mean_de, max_de = storage_error()
    print(f"8-bit Lab storage error on the sample photos: mean dE76 {mean_de:.3f}, max {max_de:.3f}")
    root = tempfile.mkdtemp(prefix="bench_reader_")
    try:
        write_jpegs(os.path.join(root, "jpg"), FLAGS.images)
        items = splits.find_images(os.path.join(root, "jpg"))
        out = os.path.join(root, "records")
        write_dataset({"train": items}, out, PrepConfig(image_size=256), {"name": "bench"},
                      images_per_shard=250, log=lambda m: None)
        files = tf.io.gfile.glob(schema.shard_pattern(out, "train"))
        size = sum(os.path.getsize(f) for f in files) / FLAGS.images
        print(f"record size at 256x256: {size:,.0f} bytes")
        variants = {
            "eval (parse, batch 64)": lambda: data.make_dataset(
                files, 64, training=False, repeat=True),
            "train (jitter 286->256 + flip, batch 64)": lambda: data.make_dataset(
                files, 64, training=True, image_size=256, jitter_size=286, shuffle_buffer=256),
            "train deterministic": lambda: data.make_dataset(
                files, 64, training=True, image_size=256, jitter_size=286, shuffle_buffer=256,
                deterministic=True, seed=0),
        }
        steps = 3 * FLAGS.images // 64
        results = {name: [] for name in variants}
        for _ in range(FLAGS.repeats):
            for name, make in variants.items():
                ds = make()
                time_pass(ds, 2)  # warm-up: graph building and first reads
                results[name].append(time_pass(ds, steps))
        print(f"read + parse into normalised (L, ab) batches, {os.cpu_count()} cores, page-cached files")
        for name, rates in results.items():
            runs = " ".join(f"{r:7.0f}" for r in rates)
            print(f"  {name:42s} {runs}  best {max(rates):7.0f} img/s")
        if FLAGS.json_out:
            with open(FLAGS.json_out, "w") as f:
                json.dump({name: max(rates) for name, rates in results.items()}, f, indent=1)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    app.run(main)
