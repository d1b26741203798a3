"""One shard of a prepared dataset: its name, its statistics file under ``.prep/`` and the
writer both runners use (records to a temporary file, statistics, then the final name).
"""

import dataclasses

from tfcolor.core import fs
from tfcolor.core import schema

STATE_DIR = ".prep"


@dataclasses.dataclass
class Shard:
    split: str
    index: int
    count: int
    items: list

    @property
    def name(self):
        return schema.shard_name(self.split, self.index, self.count)


def stats_path(output_dir, shard):
    return fs.join(output_dir, STATE_DIR, shard.name + ".json")


def new_stats():
    return {"records": 0, "skipped": {}, "fixed": {}}


def add_result(stats, result):
    """Counts one conversion result into a shard's statistics."""
    if result.record is not None:
        stats["records"] += 1
    else:
        stats["skipped"].setdefault(result.reason, []).append(result.key)
    for fix in result.fixes:
        stats["fixed"][fix] = stats["fixed"].get(fix, 0) + 1


class ShardWriter:
    """Writes one shard's records to a local file (by default ``SHARD.tfrecord.tmp`` beside the
    final name); ``finish`` writes the shard's statistics, then moves the file to its final name
    (any filesystem, see fs.publish). Used by both runners."""

    def __init__(self, output_dir, shard, local_path=None):
        import tensorflow as tf

        self.output_dir = output_dir
        self.shard = shard
        self.final = fs.join(output_dir, shard.name)
        self.tmp = local_path or self.final + ".tmp"
        self.writer = tf.io.TFRecordWriter(self.tmp)
        self.stats = new_stats()
        self.remaining = len(shard.items)

    def add(self, result):
        if result.record is not None:
            self.writer.write(result.record)
        add_result(self.stats, result)
        self.remaining -= 1

    def finish(self):
        self.writer.close()
        fs.write_json_atomic(stats_path(self.output_dir, self.shard), self.stats)
        fs.publish(self.tmp, self.final)
