"""One input -> one serialized Lab record (runs in the worker processes)."""

import dataclasses

import numpy as np
from PIL import Image

from data_prep.decode import SkipImage, is_grayscale, load_rgb


@dataclasses.dataclass(frozen=True)
class PrepConfig:
    """How images become records.

    Attributes:
      image_size: the training crop size the dataset is meant for.
      store_size: stored square size; larger than ``image_size`` keeps
        pix2pix's random jitter possible (286 for 256). Defaults to image_size.
      drop_grayscale: leave out grayscale photos (nothing to learn from them).
      gray_tolerance: see :func:`data_prep.decode.is_grayscale`.
      max_pixels: refuse images whose header claims more pixels.
      min_size: skip images whose shorter side is below this; images between
        this and ``store_size`` are upscaled (and counted).
    """

    image_size: int = 256
    store_size: int | None = None
    drop_grayscale: bool = True
    gray_tolerance: float = 6.0
    max_pixels: int = 100_000_000
    min_size: int = 32

    @property
    def size(self):
        return self.store_size or self.image_size


@dataclasses.dataclass
class Result:
    """What became of one item: a record, or the reason it was skipped."""

    key: str
    record: bytes | None
    reason: str | None = None
    fixes: tuple = ()


def square_resize(rgb, size, fixes):
    """Center square crop of the shorter side, resized to ``size`` (bicubic, antialiased)."""
    height, width = rgb.shape[:2]
    if (height, width) == (size, size):
        return rgb
    side = min(height, width)
    if side < size:
        fixes.append("upscaled")
    top, left = (height - side) // 2, (width - side) // 2
    image = Image.fromarray(rgb)
    box = (left, top, left + side, top + side)
    return np.asarray(image.resize((size, size), Image.BICUBIC, box=box, reducing_gap=3.0))


class Converter:
    """Holds the compiled Lab conversion; one per worker process."""

    def __init__(self, config):
        import tensorflow as tf

        from tfcolor.core import color, schema

        self.config = config
        self._schema = schema

        # XLA fuses the element-wise chain: ~4x faster on CPU (bench/README.md).
        # Every image of a dataset has the same stored size: one compilation.
        @tf.function(jit_compile=True, autograph=False)
        def rgb_to_lab_u8(rgb):
            return schema.encode_lab(color.rgb_to_lab(rgb))

        self._to_lab = rgb_to_lab_u8

    def __call__(self, item):
        fixes = []
        if item.skip:
            return Result(item.key, None, item.skip)
        try:
            rgb, load_fixes = load_rgb(item, self.config.max_pixels)
            fixes.extend(load_fixes)
            if min(rgb.shape[:2]) < self.config.min_size:
                raise SkipImage("too_small", f"{rgb.shape[1]}x{rgb.shape[0]}")
            if self.config.drop_grayscale and is_grayscale(rgb, self.config.gray_tolerance):
                raise SkipImage("grayscale")
            square = square_resize(rgb, self.config.size, fixes)
        except SkipImage as e:
            return Result(item.key, None, e.reason, tuple(fixes))
        lab_u8 = self._to_lab(square).numpy()
        record = self._schema.serialize_example(item.key, lab_u8, rgb.shape[:2])
        return Result(item.key, record, None, tuple(fixes))


_WORKER = None


def init_worker(config):
    """Pool initializer: one TF thread per process, since the processes are the parallelism."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    global _WORKER
    _WORKER = Converter(config)


def convert_in_worker(item):
    return _WORKER(item)
