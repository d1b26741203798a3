"""COCO 2017 images -> Lab TFRecords: a deterministic fraction, grayscale photos removed.

--images is a COCO image folder (``train2017/``), or a folder holding
``train2017/``, ``val2017/``... (all images under it are pooled). The seed
setup used 20 % of COCO, split 80/20 into train and validation:

    python -m data_prep.coco --images=/data/coco --fraction=0.2 \
        --val_fraction=0.2 --output_dir=data/coco256 --store_size=286

COCO holds a few hundred grayscale photos (stored as 1-channel JPEGs or as RGB
with equal channels); they are removed and counted as ``grayscale``.
"""

from absl import app, flags

from data_prep import cli, splits

flags.DEFINE_string("images", None, "COCO image folder (or the folder above train2017/).", required=True)
flags.DEFINE_float("fraction", 0.2, "Deterministic fraction of the images to use.")
flags.DEFINE_float("val_fraction", 0.2, "Fraction of the used images for validation.")
cli.define_flags()
FLAGS = flags.FLAGS


def main(argv):
    del argv
    cli.run(
        splits.folder_splits(FLAGS.images, FLAGS.fraction, FLAGS.val_fraction, FLAGS.seed),
        source="coco2017",
        source_flags=("images", "fraction", "val_fraction"),
    )


if __name__ == "__main__":
    app.run(main)
