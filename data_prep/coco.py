"""COCO 2017 images -> Lab TFRecords: a deterministic fraction, grayscale photos removed.

--images is a COCO image folder (``train2017/``), or a folder holding
``train2017/``, ``val2017/``... (all images under it are pooled). The seed
setup used 20 % of COCO, split 80/20 into train and validation:

    python -m data_prep.coco --images=/data/coco --fraction=0.2 --val_fraction=0.2 --output_dir=data/coco256 --store_size=286

COCO holds a few hundred grayscale photos (stored as 1-channel JPEGs or as RGB
with equal channels); they are removed and counted as ``grayscale``.
"""

from absl import flags

from data_prep import cli
from tfcolor.core import entry

cli.define_folder_flags("COCO image folder (or the folder above train2017/).", fraction=0.2, val_fraction=0.2)
flags.adopt_module_key_flags(cli)


def main(argv):
    del argv
    cli.run_folder("coco2017")


if __name__ == "__main__":
    entry.run(main, __name__, user_errors=(ValueError, OSError))
