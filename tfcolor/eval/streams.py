"""Real colour photos streamed for evaluation: prepared Lab TFRecords or a folder of images.

``stream_photos`` yields ``Photo(key, truth, gray)`` one at a time, in a fixed order (shards in
name order, records in file order; folder files sorted), while the next ones are read and
decoded in the background: tf.data with a parallel map and prefetch for records, a bounded
pool of reader threads for image files. Memory stays flat however many photos there are.
``truth`` is the real photo as uint8 RGB; ``gray`` is exactly what a colouriser sees of it (its
L channel, ab = 0). With ``eval_size`` both are the centre square of the photo resized so that
its shorter side is ``eval_size`` (the fixed-size protocol of colourisation papers, e.g. 256).
"""

import collections
import concurrent.futures
import dataclasses
import os

import numpy as np


@dataclasses.dataclass
class Photo:
    key: str
    truth: np.ndarray  # uint8 RGB [H, W, 3]
    gray: np.ndarray  # uint8 RGB [H, W, 3], R = G = B = the truth's L


def square_crop(rgb, size):
    """uint8 [H, W, 3] -> uint8 [size, size, 3]: shorter side resized to ``size`` (antialiased
    bilinear), then the centre square. A TF function: works eagerly and in tf.data."""
    import tensorflow as tf

    from tfcolor.deploy import inference

    rgb = tf.convert_to_tensor(rgb)
    shape = tf.cast(tf.shape(rgb)[:2], tf.float32)
    scale = float(size) / tf.reduce_min(shape)
    new = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), size)
    resized = tf.image.resize(tf.cast(rgb, tf.float32) / 255.0, new, method="bilinear", antialias=True)
    top, left = (new[0] - size) // 2, (new[1] - size) // 2
    return inference.to_uint8(resized[top:top + size, left:left + size])


def _record_files(data):
    from tfcolor.core import schema

    return [f for f in schema.shards_to_read(data) if f.endswith(schema.SHARD_SUFFIX)]


def count_photos(data, max_images=0):
    """How many photos ``stream_photos`` will go through (before skipping gray files)."""
    files = _record_files(data)
    if files:
        from tfcolor.core.data import count_records

        count = count_records(files)
    else:
        from tfcolor.deploy.colorizer import collect_inputs

        count = len(collect_inputs([data])[0])
    return min(count, max_images) if max_images else count


def stream_photos(data, max_images=0, eval_size=0, skipped=None, workers=0, prefetch=16):
    """Yields ``Photo``s from Lab TFRecords (a prepared dataset folder: its val, else test,
    else train shards; or a glob) or from a folder/glob of image files. Files that cannot be
    read and gray photos in a folder are skipped and counted in ``skipped`` by reason."""
    skipped = {} if skipped is None else skipped
    files = _record_files(data)
    source = _from_records(files, eval_size, prefetch) if files else \
        _from_files(data, eval_size, skipped, workers or os.cpu_count() or 2, prefetch)
    for count, photo in enumerate(source, start=1):
        yield photo
        if max_images and count >= max_images:
            return


def _from_records(files, eval_size, prefetch):
    import tensorflow as tf

    from tfcolor.core import color, schema
    from tfcolor.deploy import inference

    @tf.autograph.experimental.do_not_convert
    def convert(record):
        example = schema.parse_example(record)
        truth = inference.to_uint8(color.lab_to_rgb(example["lab"]))
        if eval_size:
            truth = square_crop(truth, eval_size)
        return example["key"], truth, inference.gray_rgb(truth)

    dataset = tf.data.TFRecordDataset(files).map(convert, num_parallel_calls=tf.data.AUTOTUNE,
                                                 deterministic=True).prefetch(prefetch)
    for key, truth, gray in dataset.as_numpy_iterator():
        yield Photo(key.decode(), truth, gray)


def _from_files(data, eval_size, skipped, workers, prefetch):
    import tensorflow as tf

    from tfcolor.core.images import SkipImage, is_grayscale
    from tfcolor.deploy import inference
    from tfcolor.deploy.colorizer import collect_inputs, read_photo

    # A graph for any size: half the time of the eager ops (8 vs 16 ms at 256x256).
    gray_rgb = tf.function(inference.gray_rgb, autograph=False,
                           input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])

    def read(item):
        path, name = item
        try:
            rgb, _ = read_photo(path)
        except SkipImage as e:
            return e.reason
        if is_grayscale(rgb):
            return "grayscale"
        truth = square_crop(rgb, eval_size).numpy() if eval_size else rgb
        return Photo(name, truth, gray_rgb(truth).numpy())

    for result in ordered_map(read, collect_inputs([data])[0], workers, window=prefetch):
        if isinstance(result, str):
            skipped[result] = skipped.get(result, 0) + 1
        else:
            yield result


def ordered_map(fn, items, workers, window):
    """``map(fn, items)`` on a thread pool, in order, with at most ``window`` results ahead
    of the consumer (``Executor.map`` submits everything at once: memory would grow)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        pending = collections.deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
