"""Any folder tree of images -> Lab TFRecords (ImageNet-mini, a user's photos...).

Every file with an image extension below --images is an input, keyed by its
relative path. Grayscale photos are left out (--nodrop_grayscale keeps them);
broken files are skipped and counted in manifest.json.

Example usage:

    python -m data_prep.folder --images=~/Pictures/holiday --output_dir=data/holiday --image_size=256 --val_fraction=0.1
"""

from absl import flags

from data_prep import cli
from tfcolor.core import entry

cli.define_folder_flags("Root folder of the images.", fraction=1.0, val_fraction=0.1)
flags.adopt_module_key_flags(cli)


def main(argv):
    del argv
    cli.run_folder("folder")


if __name__ == "__main__":
    entry.run(main, __name__, user_errors=(ValueError, OSError))
