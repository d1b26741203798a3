"""Any folder tree of images -> Lab TFRecords (ImageNet-mini, a user's photos...).

Every file with an image extension below --images is an input, keyed by its
relative path. Grayscale photos are left out (--nodrop_grayscale keeps them);
broken files are skipped and counted in manifest.json.

Example usage:

    python -m data_prep.folder --images=~/Pictures/holiday \
        --output_dir=data/holiday --image_size=256 --val_fraction=0.1
"""

from absl import app, flags

from data_prep import cli, splits

flags.DEFINE_string("images", None, "Root folder of the images.", required=True)
flags.DEFINE_float("fraction", 1.0, "Deterministic fraction of the images to use.")
flags.DEFINE_float("val_fraction", 0.1, "Fraction of the used images for validation.")
cli.define_flags()
FLAGS = flags.FLAGS


def main(argv):
    del argv
    cli.run(
        splits.folder_splits(FLAGS.images, FLAGS.fraction, FLAGS.val_fraction, FLAGS.seed),
        source="folder",
        source_flags=("images", "fraction", "val_fraction"),
    )


if __name__ == "__main__":
    app.run(main)
