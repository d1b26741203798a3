"""Flags and the run wrapper shared by the data_prep entry points.

Each entry module calls :func:`define_flags` at import (with its own
defaults), defines its source flags, and hands its splits to :func:`run`.
"""

import sys

from absl import flags

from data_prep.convert import PrepConfig
from data_prep.pipeline import write_dataset

FLAGS = flags.FLAGS


def define_flags(image_size=256, drop_grayscale=True, min_size=32, images_per_shard=1000):
    flags.DEFINE_string("output_dir", None, "Folder for the shards and manifest.json.", required=True)
    flags.DEFINE_integer("image_size", image_size, "Training crop size the dataset is for.")
    flags.DEFINE_integer(
        "store_size", None,
        "Stored square size; larger than --image_size keeps pix2pix random jitter "
        "possible (e.g. 286 for 256). Default: --image_size.",
    )
    flags.DEFINE_bool("drop_grayscale", drop_grayscale, "Leave grayscale photos out.")
    flags.DEFINE_float(
        "gray_tolerance", 6.0,
        "A photo counts as grayscale when the 99th percentile of its per-pixel "
        "channel spread is at most this many 8-bit levels.",
    )
    flags.DEFINE_integer(
        "max_pixels", 100_000_000,
        "Refuse images whose header claims more pixels (decompression bombs).",
    )
    flags.DEFINE_integer("min_size", min_size, "Skip images whose shorter side is smaller.")
    flags.DEFINE_integer("images_per_shard", images_per_shard, "Inputs per TFRecord shard.")
    flags.DEFINE_integer("num_workers", None, "Worker processes (default: all cores, when the photos are many "
                         "enough to repay the workers' start-up; 0: inline).")
    flags.DEFINE_bool("overwrite", False, "Replace a different dataset in --output_dir.")
    flags.DEFINE_integer("seed", 0, "Seed of the deterministic selection, split and shuffle.")
    flags.DEFINE_enum("runner", "local", ["local", "beam"],
                      "local: a process pool on this machine (fast; resumes after kill -9). beam: an Apache "
                      "Beam pipeline (pip install 'tfcolor[beam]'), same output; see --beam_pipeline_options.")
    flags.DEFINE_string("beam_pipeline_options", "",
                        "Beam PipelineOptions as one string, e.g. \"--runner=DataflowRunner --project=P "
                        "--region=R --temp_location=gs://B/tmp\". Without --runner: Beam's in-process "
                        "FnApiRunner with --num_workers processes (offline; no Prism download).")


def define_folder_flags(images_help, fraction, val_fraction):
    """Flags of the sources that are a folder tree of images (folder, COCO)."""
    flags.DEFINE_string("images", None, images_help, required=True)
    flags.DEFINE_float("fraction", fraction, "Deterministic fraction of the images to use.")
    flags.DEFINE_float("val_fraction", val_fraction, "Fraction of the used images for validation.")
    define_flags()


def run_folder(source):
    """Main of the folder-tree sources: select, split and write."""
    from data_prep.splits import folder_splits

    return run(
        folder_splits(FLAGS.images, FLAGS.fraction, FLAGS.val_fraction, FLAGS.seed),
        source=source,
        source_flags=("images", "fraction", "val_fraction"),
    )


def config_from_flags():
    if FLAGS.store_size is not None and FLAGS.store_size < FLAGS.image_size:
        raise flags.ValidationError("--store_size must be >= --image_size")
    return PrepConfig(
        image_size=FLAGS.image_size,
        store_size=FLAGS.store_size,
        drop_grayscale=FLAGS.drop_grayscale,
        gray_tolerance=FLAGS.gray_tolerance,
        max_pixels=FLAGS.max_pixels,
        min_size=FLAGS.min_size,
    )


def run(splits, source, source_flags):
    """Writes ``splits`` and prints a summary; returns the manifest."""
    source_info = {"name": source, "args": {name: FLAGS[name].value for name in source_flags}}
    source_info["args"].update({name: FLAGS[name].value for name in ("seed",)})
    if not any(splits.values()):
        raise SystemExit(f"{source}: no input images found ({source_info['args']}); nothing to do")
    counts = ", ".join(f"{split}: {len(items)}" for split, items in splits.items())
    print(f"{source}: {counts} inputs -> {FLAGS.output_dir}", flush=True)
    manifest = write_dataset(
        splits,
        FLAGS.output_dir,
        config_from_flags(),
        source_info,
        images_per_shard=FLAGS.images_per_shard,
        num_workers=FLAGS.num_workers,
        overwrite=FLAGS.overwrite,
        log=lambda message: print(message, file=sys.stderr, flush=True),
        runner=FLAGS.runner,
        beam_options=FLAGS.beam_pipeline_options,
    )
    print_summary(manifest, FLAGS.output_dir)
    return manifest


def print_summary(manifest, output_dir):
    for split, entry in manifest["splits"].items():
        print(f"  {split}: {entry['records']} records of {entry['inputs']} inputs in "
              f"{entry['shards']} shard(s), {manifest['stored_size']}x{manifest['stored_size']} Lab")
    for kind in ("skipped", "fixed"):
        if manifest[kind]:
            details = ", ".join(f"{reason} {n}" for reason, n in manifest[kind].items())
            print(f"  {kind}: {details}")
    print(f"  manifest: {output_dir}/manifest.json", flush=True)
