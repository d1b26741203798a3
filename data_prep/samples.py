"""The embedded sample dataset: crops of real colour photos that ship with the dependencies.

No download: the photos come from scikit-image (astronaut, coffee, chelsea,
rocket, the left motorcycle view) and matplotlib (Grace Hopper). Each photo is
cut into a train region and a held-out validation strip (the last 30 % along
its longer side), and random square crops of varied scale are taken from
each, so validation pixels are never seen in training.

Example usage:

    python -m data_prep.samples --output_dir=data/samples --image_size=128
"""

from absl import flags

from data_prep import cli
from data_prep.sample_photos import sample_splits
from tfcolor.core import entry

flags.DEFINE_integer("train_crops", 48, "Training crops per photo.")
flags.DEFINE_integer("val_crops", 4, "Validation crops per photo.")
cli.define_flags(image_size=128, images_per_shard=200)
flags.adopt_module_key_flags(cli)
FLAGS = flags.FLAGS

def main(argv):
    del argv
    cli.run(
        sample_splits(FLAGS.train_crops, FLAGS.val_crops, FLAGS.seed),
        source="samples",
        source_flags=("train_crops", "val_crops"),
    )


if __name__ == "__main__":
    entry.run(main, __name__, user_errors=(ValueError, OSError))
