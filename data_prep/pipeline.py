"""Writes lists of inputs as sharded Lab TFRecords, in parallel, crash-safe and resumable.

Plan: the items of each split are cut into contiguous shards (the sources
shuffle them first, so every shard is a mix). Worker processes convert items
(:mod:`data_prep.convert`); this process writes the records in order into
``SPLIT-00003-of-00010.tfrecord.tmp``, writes the shard's statistics to
``.prep/``, then renames the shard to its final name. A run killed at any point
and started again with the same arguments skips the finished shards and redoes
the rest, so every good image ends up in the dataset exactly once.
"""

import collections
import dataclasses
import glob
import hashlib
import json
import multiprocessing
import os

from data_prep.convert import Converter, convert_in_worker, init_worker
from tfcolor import schema
from tfcolor.progress import Progress

STATE_DIR = ".prep"
PLAN_NAME = "plan.json"
SKIPPED_NAME = "skipped.tsv"
_EXAMPLES_PER_REASON = 20


@dataclasses.dataclass
class Shard:
    split: str
    index: int
    count: int
    items: list

    @property
    def name(self):
        return schema.shard_name(self.split, self.index, self.count)


def _atomic_write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def plan_shards(splits, images_per_shard):
    """Cuts each split's items into contiguous, near-equal shards."""
    shards = []
    for split, items in splits.items():
        if not items:
            continue
        count = max(1, -(-len(items) // images_per_shard))
        for index in range(count):
            lo, hi = index * len(items) // count, (index + 1) * len(items) // count
            shards.append(Shard(split, index, count, items[lo:hi]))
    return shards


def _plan_record(splits, config, source, images_per_shard):
    digest = hashlib.sha1()
    for split in sorted(splits):
        for item in splits[split]:
            digest.update(f"{split}\t{item.key}\n".encode())
    return {
        "schema_version": schema.SCHEMA_VERSION,
        "source": source,
        "config": dataclasses.asdict(config),
        "images_per_shard": images_per_shard,
        "items": {split: len(items) for split, items in splits.items()},
        "items_sha1": digest.hexdigest(),
    }


def _prepare_output(output_dir, plan, overwrite):
    """Checks that output_dir is empty or holds an unfinished run of the same plan."""
    state = os.path.join(output_dir, STATE_DIR)
    os.makedirs(state, exist_ok=True)
    plan_path = os.path.join(state, PLAN_NAME)
    old_shards = glob.glob(os.path.join(output_dir, f"*{schema.SHARD_SUFFIX}*"))
    if os.path.exists(plan_path):
        with open(plan_path) as f:
            old_plan = json.load(f)
        if old_plan != plan:
            if not overwrite:
                raise ValueError(
                    f"{output_dir} holds a dataset made with other inputs or arguments; "
                    "use another --output_dir or pass --overwrite to replace it"
                )
            old_shards += glob.glob(os.path.join(state, "*.json"))
            for path in old_shards:
                os.remove(path)
    elif old_shards:
        if not overwrite:
            raise ValueError(
                f"{output_dir} already has TFRecord files not made by data_prep; "
                "use another --output_dir or pass --overwrite"
            )
        for path in old_shards:
            os.remove(path)
    _atomic_write_json(plan_path, plan)


def _stats_path(output_dir, shard):
    return os.path.join(output_dir, STATE_DIR, shard.name + ".json")


def _is_done(output_dir, shard):
    return os.path.exists(os.path.join(output_dir, shard.name)) and os.path.exists(
        _stats_path(output_dir, shard)
    )


def _results(items, config, num_workers):
    """Yields a Result per item, in order, from worker processes (or inline)."""
    if num_workers == 0 or len(items) < 64:
        convert = Converter(config)
        for item in items:
            yield convert(item)
        return
    context = multiprocessing.get_context("spawn")
    chunksize = max(1, min(16, len(items) // (num_workers * 8)))
    with context.Pool(num_workers, initializer=init_worker, initargs=(config,)) as pool:
        yield from pool.imap(convert_in_worker, items, chunksize=chunksize)


class _ShardWriter:
    """Writes one shard to a temporary name; ``finish`` makes it final."""

    def __init__(self, output_dir, shard):
        import tensorflow as tf

        self.output_dir = output_dir
        self.shard = shard
        self.final = os.path.join(output_dir, shard.name)
        self.tmp = self.final + ".tmp"
        self.writer = tf.io.TFRecordWriter(self.tmp)
        self.stats = {"records": 0, "skipped": {}, "fixed": {}}
        self.remaining = len(shard.items)

    def add(self, result):
        if result.record is not None:
            self.writer.write(result.record)
            self.stats["records"] += 1
        else:
            self.stats["skipped"].setdefault(result.reason, []).append(result.key)
        for fix in result.fixes:
            self.stats["fixed"][fix] = self.stats["fixed"].get(fix, 0) + 1
        self.remaining -= 1

    def finish(self):
        self.writer.close()
        _atomic_write_json(_stats_path(self.output_dir, self.shard), self.stats)
        os.replace(self.tmp, self.final)


def _summarize(output_dir, shards, plan):
    splits = collections.OrderedDict()
    skipped = collections.Counter()
    fixed = collections.Counter()
    examples = collections.defaultdict(list)
    skipped_rows = []
    for shard in shards:
        with open(_stats_path(output_dir, shard)) as f:
            stats = json.load(f)
        entry = splits.setdefault(
            shard.split, {"records": 0, "inputs": 0, "shards": shard.count, "files": []}
        )
        entry["records"] += stats["records"]
        entry["inputs"] += len(shard.items)
        entry["files"].append(shard.name)
        for reason, keys in stats["skipped"].items():
            skipped[reason] += len(keys)
            examples[reason].extend(keys[: _EXAMPLES_PER_REASON - len(examples[reason])])
            skipped_rows += [f"{shard.split}\t{key}\t{reason}" for key in keys]
        fixed.update(stats["fixed"])
    config = plan["config"]
    return {
        "schema_version": schema.SCHEMA_VERSION,
        "encoding": "lab_u8 (L*255/100, a+128, b+128), see tfcolor/schema.py",
        "image_size": config["image_size"],
        "stored_size": config["store_size"] or config["image_size"],
        "source": plan["source"],
        "config": config,
        "splits": splits,
        "records": {split: entry["records"] for split, entry in splits.items()},
        "skipped": dict(sorted(skipped.items())),
        "skipped_examples": dict(sorted(examples.items())),
        "fixed": dict(sorted(fixed.items())),
    }, skipped_rows


def write_dataset(
    splits, output_dir, config, source, images_per_shard=1000, num_workers=None,
    overwrite=False, log=print,
):
    """Converts every split's items into Lab TFRecord shards plus ``manifest.json``.

    Args:
      splits: dict split name -> list of :class:`data_prep.decode.Item`, in
        the order they should be written.
      output_dir: destination folder.
      config: :class:`data_prep.convert.PrepConfig`.
      source: JSON-able description of the source and its arguments, copied
        into the manifest.
      images_per_shard: target inputs per shard (~200 MB at 256 px for 1000).
      num_workers: worker processes; None = all cores, 0 = convert inline.
      overwrite: replace a dataset in ``output_dir`` made with other inputs.
      log: function that prints one message.

    Returns:
      The manifest dict (also written to ``output_dir/manifest.json``).
    """
    num_workers = os.cpu_count() if num_workers is None else num_workers
    plan = _plan_record(splits, config, source, images_per_shard)
    _prepare_output(output_dir, plan, overwrite)
    shards = plan_shards(splits, images_per_shard)
    for path in glob.glob(os.path.join(output_dir, "*.tmp")):
        os.remove(path)  # left by a killed run; those shards are redone
    pending = [s for s in shards if not _is_done(output_dir, s)]
    if len(pending) < len(shards):
        log(f"resuming: {len(shards) - len(pending)} of {len(shards)} shards already complete")
    work = [item for shard in pending for item in shard.items]
    progress = Progress(len(work), label="converting ")
    queue = iter(pending)
    writer = None
    skipped = 0
    for result in _results(work, config, num_workers):
        while writer is None or writer.remaining == 0:
            writer = _ShardWriter(output_dir, next(queue))
        writer.add(result)
        skipped += result.record is None
        progress.update(extra=f"skipped {skipped}")
        if writer.remaining == 0:
            writer.finish()
    if work:
        progress.close()
    manifest, skipped_rows = _summarize(output_dir, shards, plan)
    with open(os.path.join(output_dir, SKIPPED_NAME), "w") as f:
        f.write("split\tkey\treason\n" + "".join(row + "\n" for row in skipped_rows))
    _atomic_write_json(os.path.join(output_dir, schema.MANIFEST_NAME), manifest)
    return manifest
