"""data_prep throughput: 640x480 JPEGs -> 256x256 Lab records, with 1 and with all workers.

Example usage:

    python bench/bench_prep.py --images=600
"""

import os
import shutil
import tempfile
import time

from absl import app, flags

from bench.photos import write_jpegs
from data_prep import splits
from data_prep.convert import PrepConfig
from data_prep.pipeline import write_dataset

flags.DEFINE_integer("images", 600, "JPEGs to convert per run.")
flags.DEFINE_integer("repeats", 2, "Runs of each worker count (interleaved).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    root = tempfile.mkdtemp(prefix="bench_prep_")
    try:
        write_jpegs(os.path.join(root, "jpg"), FLAGS.images)
        items = splits.find_images(os.path.join(root, "jpg"))
        cores = os.cpu_count()
        results = {}
        for repeat in range(FLAGS.repeats):
            for workers in sorted({1, cores}):
                out = os.path.join(root, f"out{workers}_{repeat}")
                start = time.perf_counter()
                manifest = write_dataset(
                    {"train": items}, out, PrepConfig(image_size=256), {"name": "bench"},
                    images_per_shard=200, num_workers=workers, log=lambda m: None,
                )
                seconds = time.perf_counter() - start
                assert manifest["records"]["train"] == FLAGS.images
                results.setdefault(workers, []).append(FLAGS.images / seconds)
        print(f"640x480 JPEG -> 256x256 Lab record, {FLAGS.images} images, {cores} cores "
              "(wall time, worker start-up included)")
        for workers, rates in results.items():
            runs = " ".join(f"{r:6.1f}" for r in rates)
            print(f"  {workers} worker(s): {runs}  best {max(rates):6.1f} img/s = "
                  f"{max(rates) / workers:6.1f} img/s per worker")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    app.run(main)
