"""Places365-Standard -> Lab TFRecords (train and val splits kept as published).

--root may hold any of these layouts:

* the official file lists ``places365_train_standard.txt`` (lines like
  ``/a/abbey/00000001.jpg 0``) and ``places365_val.txt``
  (``Places365_val_00000001.jpg 165``) beside the extracted image folders
  ``data_256/`` (or ``data_large/``) and ``val_256/`` (or ``val_large/``);
* the "easy format": ``train.txt`` / ``val.txt`` with paths relative to --root;
* plain folders ``train/`` and ``val/`` of images, with no lists.

Files named in a list but missing on disk are counted as ``unreadable``.

Example usage:

    python -m data_prep.places365 --root=/data/places365 --fraction=0.1 --output_dir=data/places256
"""

import os

from absl import flags

from data_prep import cli, splits
from tfcolor.core import fs
from data_prep.decode import Item
from tfcolor.core import entry

flags.DEFINE_string("root", None, "Places365 folder (see the module docstring).", required=True)
flags.DEFINE_float("fraction", 1.0, "Deterministic fraction of each split to use.")
cli.define_flags()
flags.adopt_module_key_flags(cli)
FLAGS = flags.FLAGS

_LISTS = {"train": ("places365_train_standard.txt", "train.txt"), "val": ("places365_val.txt", "val.txt")}
_IMAGE_DIRS = {
    "train": ("data_256", "data_large", "train_256", "train_large", "train", ""),
    "val": ("val_256", "val_large", "val", ""),
}


def read_file_list(path):
    """Relative image paths from a Places365 list (first column of each line)."""
    return [line.split()[0].lstrip("/") for line in fs.read_text(path).splitlines() if line.strip()]


def _image_dir(root, split, relative_paths):
    """The folder the listed paths are relative to: the first where the first path exists."""
    for name in _IMAGE_DIRS[split]:
        if fs.exists(fs.join(root, name, relative_paths[0])):
            return fs.join(root, name)
    return fs.join(root, _IMAGE_DIRS[split][0])


def split_items(root, split):
    for list_name in _LISTS[split]:
        list_path = fs.join(root, list_name)
        if fs.exists(list_path):
            paths = read_file_list(list_path)
            if not paths:
                return []
            base = _image_dir(root, split, paths)
            return [Item(key=f"{split}/{p}", path=fs.join(base, p)) for p in paths]
    folder = fs.join(root, split)
    if fs.is_remote(folder) or os.path.isdir(folder):
        return [Item(key=f"{split}/{i.key}", path=i.path) for i in splits.find_images(folder)]
    return []


def places_splits(root, fraction, seed):
    result = {}
    for split in ("train", "val"):
        items = split_items(root, split)
        if items:
            result[split] = splits.select_fraction(items, fraction, seed)
    if not result:
        raise ValueError(
            f"{root} has no Places365 file lists ({', '.join(n for p in _LISTS.values() for n in p)}) "
            "and no train/ or val/ folder"
        )
    return result


def main(argv):
    del argv
    cli.run(
        places_splits(FLAGS.root, FLAGS.fraction, FLAGS.seed),
        source="places365",
        source_flags=("root", "fraction"),
    )


if __name__ == "__main__":
    entry.run(main, __name__, user_errors=(ValueError, OSError))
