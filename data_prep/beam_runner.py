"""data_prep on Apache Beam: the same shards, records and manifest as the local runner.

The plan (which item goes to which split and shard, in which order) is made once, by
:mod:`data_prep.pipeline`, exactly as for ``--runner=local``. Each pending shard's items are
written to ``OUTPUT/.prep/work/SHARD.pkl``; the pipeline is then

    Create(shard names) | Reshuffle | ParDo(WriteShard)

where one ``WriteShard`` call converts the shard's items in order (the same
:class:`data_prep.convert.Converter` as the local runner), writes the records under a
temporary name, writes the shard's statistics to ``.prep/``, and renames the shard. A shard is
the unit of work and of retry: a retried or duplicated task rewrites the same bytes, so a
rerun after a failed or killed job finishes every shard exactly once. The manifest is built
afterwards from the statistics files the pipeline wrote (Beam's counters only show progress).

Runner: tfcolor.core.beam.pipeline_options (the user's, else the offline in-process FnApiRunner).
"""

import logging
import os
import pickle
import tempfile
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

from tfcolor.core import fs
from data_prep.convert import Converter
from tfcolor.core.beam import pipeline_options
from data_prep.shards import STATE_DIR, ShardWriter

WORK_DIR = "work"


def _work_path(output_dir, name):
    return fs.join(output_dir, STATE_DIR, WORK_DIR, name + ".pkl")


class WriteShard(beam.DoFn):
    """Shard name -> the shard converted and written (shards.ShardWriter), (name, records)."""

    def __init__(self, output_dir, config):
        self.output_dir = output_dir
        self.config = config

    def setup(self):
        import tensorflow as tf

        try:  # one thread per worker process: the processes are the parallelism
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # TensorFlow already running in this process (in_memory mode)
        self.convert = Converter(self.config)
        self.counters = {name: Metrics.counter("data_prep", name) for name in ("images", "skipped", "shards")}

    def process(self, name):
        shard = pickle.loads(fs.read_bytes(_work_path(self.output_dir, name)))
        with tempfile.TemporaryDirectory() as tmp:
            writer = ShardWriter(self.output_dir, shard, os.path.join(tmp, shard.name))
            for item in shard.items:
                result = self.convert(item)
                writer.add(result)
                self.counters["images"].inc()
                self.counters["skipped"].inc(int(result.record is None))
            writer.finish()
        self.counters["shards"].inc()
        yield name, writer.stats["records"]


def write_shards(pending, output_dir, config, num_workers, beam_options, log):
    """Writes the ``pending`` shards (shards.Shard) with a Beam pipeline."""
    if not pending:
        return
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # the runner's chatter
    fs.makedirs(fs.join(output_dir, STATE_DIR, WORK_DIR))
    for shard in pending:
        fs.write_bytes_atomic(_work_path(output_dir, shard.name), pickle.dumps(shard))
    options, runner = pipeline_options(beam_options, num_workers)
    shown = type(runner).__name__ if runner else options.get_all_options()["runner"]
    log(f"beam: {len(pending)} shards, {sum(len(s.items) for s in pending)} inputs on {shown}")
    start = time.perf_counter()
    pipeline = beam.Pipeline(runner=runner, options=options)
    _ = (pipeline
         | "shards" >> beam.Create(sorted(shard.name for shard in pending))
         | "spread" >> beam.Reshuffle()
         | "convert and write" >> beam.ParDo(WriteShard(output_dir, config)))
    result = pipeline.run()
    result.wait_until_finish()
    counters = {r.key.metric.name: r.committed for r in result.metrics().query()["counters"]}
    log(f"beam: {counters.get('images', 0)} inputs converted ({counters.get('skipped', 0)} skipped), "
        f"{counters.get('shards', 0)} shards in {time.perf_counter() - start:.1f} s")
    # this run's work files, and those a killed run left for shards finished since
    fs.remove(fs.listdir(fs.join(output_dir, STATE_DIR, WORK_DIR), "*.pkl"))
