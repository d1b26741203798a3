"""Deterministic selection, shuffling and train/val splitting of inputs.

All choices depend only on the sorted keys and a seed, never on the order the
file system lists them in, so a rerun (or a colleague's run) picks the same
images.
"""

import os

import numpy as np

from tfcolor.core import fs
from data_prep.decode import Item
from tfcolor.core.images import IMAGE_EXTENSIONS


def find_images(root, extensions=IMAGE_EXTENSIONS):
    """Items for every file under ``root`` with an image extension, keyed by relative path.

    Broken links and unreadable files are kept: they are counted as skipped
    later instead of vanishing silently.
    """
    if fs.is_remote(root):  # gs://, s3://... through Beam's filesystems
        prefix = root.rstrip("/") + "/"
        return [Item(key=path[len(prefix):], path=path) for path in fs.list_tree(root)
                if path.lower().endswith(extensions)]
    if not os.path.isdir(root):
        raise ValueError(f"{root} is not a directory")
    items = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            if name.lower().endswith(extensions):
                path = os.path.join(folder, name)
                items.append(Item(key=os.path.relpath(path, root), path=path))
    return sorted(items, key=lambda item: item.key)


def shuffled(items, seed):
    """Items in a seeded random order (from their sorted order)."""
    items = sorted(items, key=lambda item: item.key)
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]


def select_fraction(items, fraction, seed):
    """A deterministic ``round(fraction * n)`` subset, in shuffled order."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    items = shuffled(items, seed)
    return items[: int(round(fraction * len(items)))]


def train_val_split(items, val_fraction, seed):
    """Splits shuffled items: the first ``round(val_fraction * n)`` become validation."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    items = shuffled(items, seed)
    num_val = int(round(val_fraction * len(items)))
    return {"train": items[num_val:], "val": items[:num_val]}


def folder_splits(root, fraction, val_fraction, seed):
    """All images under ``root``: a deterministic fraction, split into train/val."""
    items = select_fraction(find_images(root), fraction, seed)
    return train_val_split(items, val_fraction, seed)
