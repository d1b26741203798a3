"""data_prep throughput: 640x480 JPEGs -> 256x256 Lab records: the local runner with 1 and
with all workers, and the Beam runner (FnApiRunner, all cores as worker processes), side by side
on the same folder.

Example usage:

    python -m bench.bench_prep --images=600
    python -m bench.bench_prep --images=3000 --runners=local,beam --repeats=2
"""

import os
import shutil
import tempfile
import time

from absl import app, flags

from bench.common import cpu_model
from bench.photos import write_jpegs
from data_prep import splits
from data_prep.convert import PrepConfig
from data_prep.pipeline import write_dataset

flags.DEFINE_integer("images", 600, "JPEGs to convert per run.")
flags.DEFINE_integer("repeats", 2, "Runs of each setting (interleaved).")
flags.DEFINE_list("runners", ["local"], "local and/or beam (needs apache-beam).")
flags.DEFINE_integer("images_per_shard", 200, "Inputs per shard (the Beam runner's unit of work).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    root = tempfile.mkdtemp(prefix="bench_prep_")
    try:
        write_jpegs(os.path.join(root, "jpg"), FLAGS.images)
        items = splits.find_images(os.path.join(root, "jpg"))
        cores = os.cpu_count()
        settings = [("local", w) for w in sorted({1, cores}) if "local" in FLAGS.runners]
        settings += [("beam", cores)] if "beam" in FLAGS.runners else []
        results = {}
        for repeat in range(FLAGS.repeats):
            for runner, workers in settings:
                out = os.path.join(root, f"{runner}{workers}_{repeat}")
                start = time.perf_counter()
                manifest = write_dataset(
                    {"train": items}, out, PrepConfig(image_size=256), {"name": "bench"},
                    images_per_shard=FLAGS.images_per_shard, num_workers=workers, log=lambda m: None,
                    runner=runner,
                )
                seconds = time.perf_counter() - start
                assert manifest["records"]["train"] == FLAGS.images
                results.setdefault((runner, workers), []).append(FLAGS.images / seconds)
        print(f"640x480 JPEG -> 256x256 Lab record, {FLAGS.images} images, {cores} cores, {cpu_model()} "
              "(wall time, worker start-up included)")
        for (runner, workers), rates in results.items():
            runs = " ".join(f"{r:6.1f}" for r in rates)
            print(f"  {runner:5s} {workers} worker(s): {runs}  best {max(rates):6.1f} img/s = "
                  f"{max(rates) / workers:6.1f} img/s per worker")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    app.run(main)
