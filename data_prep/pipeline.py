"""Writes lists of inputs as sharded Lab TFRecords, in parallel, crash-safe and resumable.

Plan: the items of each split are cut into contiguous shards (the sources
shuffle them first, so every shard is a mix); a key seen before is marked
``duplicate_key`` and skipped. Each shard is written under a temporary name,
its statistics go to ``.prep/``, then it is renamed to its final name. A run
killed at any point and started again with the same arguments skips the
finished shards and redoes the rest, so every good image ends up in the
dataset exactly once. The manifest and ``skipped.tsv`` are built from those
statistics.

Two runners do the converting (:mod:`data_prep.convert`, the same code for
both), with identical output: ``local`` (worker processes convert items, this
process writes the records in order) and ``beam`` (an Apache Beam pipeline,
one task per shard: :mod:`data_prep.beam_runner`).
"""

import collections
import dataclasses
import hashlib
import multiprocessing
import os
import time

from data_prep.shards import STATE_DIR, Shard, ShardWriter, stats_path
from data_prep.convert import Converter, convert_in_worker, init_worker
from tfcolor.core import beam, fs, schema
from tfcolor.core.progress import Progress

PLAN_NAME = "plan.json"
# Each worker process starts TensorFlow's runtime and compiles the Lab conversion. With the
# default --num_workers, a pool starts only for more inline work than this (the embedded sample
# set, 312 photos: 6.3 s inline against 9.6 s with 2 spawned workers, whole command; 5.4-5.8 s
# against 9.2-9.3 s with the forkserver's, which imports TensorFlow once before forking them).
POOL_WORTH_S = 20.0
PROBE_ITEMS = 32
SKIPPED_NAME = "skipped.tsv"
_EXAMPLES_PER_REASON = 20
RUNNERS = ("local", "beam")


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


def mark_duplicates(splits):
    """The same splits, every repeat of a key already seen (in any split) marked to be skipped
    as ``duplicate_key``: a photo listed twice must not be trained on twice or leak into val."""
    seen, result = set(), {}
    for split, items in splits.items():
        marked = []
        for item in items:
            if item.key in seen:
                item = dataclasses.replace(item, skip="duplicate_key")
            seen.add(item.key)
            marked.append(item)
        result[split] = marked
    return result


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
    state = fs.join(output_dir, STATE_DIR)
    fs.makedirs(state)
    plan_path = fs.join(state, PLAN_NAME)
    old_shards = fs.listdir(output_dir, f"*{schema.SHARD_SUFFIX}*")
    if fs.exists(plan_path):
        old_plan = fs.read_json(plan_path)
        if old_plan != plan:
            if not overwrite:
                raise ValueError(
                    f"{output_dir} holds a dataset made with other inputs or arguments; "
                    "use another --output_dir or pass --overwrite to replace it"
                )
            fs.remove(old_shards + fs.listdir(state, "*.json*"))
    elif old_shards:
        if not overwrite:
            raise ValueError(
                f"{output_dir} already has TFRecord files not made by data_prep; "
                "use another --output_dir or pass --overwrite"
            )
        fs.remove(old_shards)
    fs.write_json_atomic(plan_path, plan)


def _is_done(output_dir, shard):
    return fs.exists(fs.join(output_dir, shard.name)) and fs.exists(stats_path(output_dir, shard))


def remove_temporary_files(output_dir):
    """Shards and statistics a killed or failed run left half-written."""
    fs.remove(fs.listdir(output_dir, "*.tmp*") + fs.listdir(fs.join(output_dir, STATE_DIR),
                                                                             "*.tmp*"))


def _results(items, config, num_workers, adaptive=False):
    """Yields a Result per item, in order, from worker processes (or inline). ``adaptive`` (the
    default --num_workers): the first items are converted inline, and the pool starts only when
    the rest would take longer inline than :data:`POOL_WORTH_S`."""
    if num_workers == 0 or len(items) < 64:
        convert = Converter(config)
        for item in items:
            yield convert(item)
        return
    if adaptive:
        convert = Converter(config)
        yield convert(items[0])  # (compiles the conversion)
        start = time.perf_counter()
        for item in items[1:PROBE_ITEMS]:
            yield convert(item)
        per_item = (time.perf_counter() - start) / (PROBE_ITEMS - 1)
        items = items[PROBE_ITEMS:]
        if per_item * len(items) < POOL_WORTH_S:
            for item in items:
                yield convert(item)
            return
    context = _worker_context()
    chunksize = max(1, min(16, len(items) // (num_workers * 8)))
    with context.Pool(num_workers, initializer=init_worker, initargs=(config,)) as pool:
        yield from pool.imap(convert_in_worker, items, chunksize=chunksize)


def _worker_context():
    """Worker processes forked from a server process that has imported TensorFlow once (Python's
    forkserver; TensorFlow starts no runtime at import, so the fork is safe): a spawned worker
    imported it again, 5 s of CPU each. Spawned where there is no fork."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tensorflow", "data_prep.convert"])
    return context


def _summarize(output_dir, shards, plan):
    splits = collections.OrderedDict()
    skipped = collections.Counter()
    fixed = collections.Counter()
    examples = collections.defaultdict(list)
    skipped_rows = []
    for shard in shards:
        stats = fs.read_json(stats_path(output_dir, shard))
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
        "encoding": "lab_u8 (L*255/100, a+128, b+128), see tfcolor/core/schema.py",
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
    overwrite=False, log=print, runner="local", beam_options="",
):
    """Converts every split's items into Lab TFRecord shards plus ``manifest.json``.

    Args:
      splits: dict split name -> list of :class:`data_prep.decode.Item`, in
        the order they should be written.
      output_dir: destination folder (with ``runner="beam"``, any path Beam's
        filesystems take: gs://, s3://, hdfs://).
      config: :class:`data_prep.convert.PrepConfig`.
      source: JSON-able description of the source and its arguments, copied
        into the manifest.
      images_per_shard: target inputs per shard (~200 MB at 256 px for 1000).
      num_workers: worker processes; None = all cores when the work is worth their start-up
        (see :func:`_results`), 0 = convert inline.
      overwrite: replace a dataset in ``output_dir`` made with other inputs.
      log: function that prints one message.
      runner: ``local`` (a process pool) or ``beam`` (data_prep.beam_runner).
      beam_options: Beam pipeline options as one command-line string.

    Returns:
      The manifest dict (also written to ``output_dir/manifest.json``).
    """
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    if runner == "beam":
        try:
            from data_prep import beam_runner
        except ImportError as e:
            if not (e.name or "").startswith("apache_beam"):
                raise
            raise SystemExit(f"error: {beam.MISSING}") from e
    elif fs.is_remote(output_dir):
        raise ValueError(f"{output_dir}: the local runner writes local folders; use --runner=beam for "
                         "gs://, s3:// or hdfs:// output")
    adaptive = num_workers is None
    num_workers = os.cpu_count() if num_workers is None else num_workers
    splits = mark_duplicates(splits)
    plan = _plan_record(splits, config, source, images_per_shard)
    _prepare_output(output_dir, plan, overwrite)
    shards = plan_shards(splits, images_per_shard)
    remove_temporary_files(output_dir)  # left by a killed run; those shards are redone
    pending = [s for s in shards if not _is_done(output_dir, s)]
    if len(pending) < len(shards):
        log(f"resuming: {len(shards) - len(pending)} of {len(shards)} shards already complete")
    if runner == "beam":
        beam_runner.write_shards(pending, output_dir, config, num_workers, beam_options, log)
    else:
        _write_shards_locally(pending, output_dir, config, num_workers, adaptive)
    manifest, skipped_rows = _summarize(output_dir, shards, plan)
    fs.write_bytes_atomic(fs.join(output_dir, SKIPPED_NAME),
                               ("split\tkey\treason\n" + "".join(row + "\n" for row in skipped_rows)).encode())
    fs.write_json_atomic(fs.join(output_dir, schema.MANIFEST_NAME), manifest)
    return manifest


def _write_shards_locally(pending, output_dir, config, num_workers, adaptive=False):
    work = [item for shard in pending for item in shard.items]
    progress = Progress(len(work), label="converting ")
    queue = iter(pending)
    writer = None
    skipped = 0
    for result in _results(work, config, num_workers, adaptive):
        while writer is None or writer.remaining == 0:
            writer = ShardWriter(output_dir, next(queue))
        writer.add(result)
        skipped += result.record is None
        progress.update(extra=f"skipped {skipped}")
        if writer.remaining == 0:
            writer.finish()
    if work:
        progress.close()
