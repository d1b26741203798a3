"""Photo loading for data_prep: :mod:`tfcolor.core.images` (fixes and skip reasons are listed
there), with paths on Beam's filesystems (gs://, s3://, hdfs://) read through data_prep.fs."""

from tfcolor.core import fs
from tfcolor.core.images import Item, SkipImage, is_grayscale, open_image  # noqa: F401 (data_prep's API)
from tfcolor.core.images import load_rgb as _load_rgb


def load_rgb(item, max_pixels=100_000_000):
    """:func:`tfcolor.core.images.load_rgb`, reading remote paths through Beam's filesystems."""
    remote = item.path is not None and fs.is_remote(item.path)
    return _load_rgb(item, max_pixels, fs.read_bytes if remote else None)
