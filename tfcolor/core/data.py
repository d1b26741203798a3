"""tf.data readers for the Lab TFRecords written by data_prep.

Example::

    from tfcolor.core import data
    ds = data.make_dataset("prepared/train-*.tfrecord", batch_size=16,
                           training=True, image_size=256, jitter_size=286)
    for l_norm, ab_norm in ds.take(1):
        ...  # [16, 256, 256, 1] and [16, 256, 256, 2], both in [-1, 1]
"""

import tensorflow as tf

from tfcolor.core import color, schema
from tfcolor.core.hints import sample_hints


class DataError(ValueError):
    """A dataset problem, explained for the user."""


def count_records(files):
    """Records in the TFRecord ``files``; corrupt data raises DataError."""
    try:
        return sum(1 for _ in tf.data.TFRecordDataset(files))
    except tf.errors.DataLossError as e:
        raise DataError(f"corrupt TFRecord data in {', '.join(files[:3])}: {e.message.splitlines()[0]}") from e


def list_shards(file_pattern):
    """Sorted shard paths for a glob pattern, a comma-separated list of them, or a list."""
    patterns = file_pattern.split(",") if isinstance(file_pattern, str) else list(file_pattern)
    files = sorted({f for p in patterns for f in tf.io.gfile.glob(p.strip())})
    if not files:
        raise ValueError(
            f"no TFRecord files match {file_pattern!r}; prepare a dataset with "
            "data_prep (e.g. `python -m data_prep.samples --output_dir=DIR`) and pass "
            "DIR/train-*.tfrecord"
        )
    return files


def _random_crop(lab, size, seed):
    return tf.image.stateless_random_crop(lab, [size, size, 3], seed=seed)


def _center_crop_or_resize(lab, size):
    """Center crop when the stored image is larger, bilinear resize when smaller."""
    height, width = tf.shape(lab)[0], tf.shape(lab)[1]

    def crop():
        top, left = (height - size) // 2, (width - size) // 2
        return lab[top : top + size, left : left + size]

    def resize():
        return tf.image.resize(lab, [size, size], method="bilinear")

    fits = tf.logical_and(height >= size, width >= size)
    return tf.cond(fits, crop, resize)


def augment(lab, image_size, seed, jitter_size=None, flip=True):
    """pix2pix random jitter on one Lab image.

    Resizes to ``jitter_size`` (if given), takes a random ``image_size`` crop
    (of the stored image when it is larger, else after upscaling), and flips
    left-right with probability 1/2. Stateless: the same ``seed`` (int [2])
    gives the same result, eagerly or inside tf.data.
    """
    if jitter_size:
        lab = tf.image.resize(lab, [jitter_size, jitter_size], method="bilinear")
    else:
        height, width = tf.shape(lab)[0], tf.shape(lab)[1]
        small = tf.logical_or(height < image_size, width < image_size)
        lab = tf.cond(
            small,
            lambda: tf.image.resize(lab, [image_size, image_size], method="bilinear"),
            lambda: lab,
        )
    lab = _random_crop(lab, image_size, seed)
    if flip:
        lab = tf.image.stateless_random_flip_left_right(lab, seed=seed + [0, 1])
    return lab


def _shard_input(files, input_context):
    """Shards by file when there are enough files, else signals record sharding."""
    if input_context is None or input_context.num_input_pipelines == 1:
        return files, None
    if len(files) >= input_context.num_input_pipelines:
        return files[input_context.input_pipeline_id :: input_context.num_input_pipelines], None
    return files, input_context


def make_dataset(
    file_pattern,
    batch_size,
    training,
    image_size=None,
    jitter_size=None,
    flip=True,
    shuffle_buffer=1000,
    repeat=None,
    deterministic=False,
    seed=None,
    input_context=None,
    drop_remainder=None,
    with_keys=False,
    hints=False,
):
    """Reads Lab TFRecords into batches of normalised ``(L, ab)`` pairs.

    Args:
      file_pattern: glob (or comma-separated globs, or list) of shard files.
      batch_size: global batch size; with ``input_context`` each replica gets
        ``input_context.get_per_replica_batch_size(batch_size)``.
      training: shuffle, repeat and augment (random jitter and flip).
      image_size: output size. None keeps the stored size (all records of a
        dataset have the same stored size).
      jitter_size: training only, pix2pix jitter: resize to this size before
        the random ``image_size`` crop (e.g. 286 for 256).
      flip: training only, random horizontal flip.
      shuffle_buffer: records in the shuffle buffer when training.
      repeat: repeat forever; defaults to ``training``.
      deterministic: fixed order and augmentation for a fixed ``seed``
        (slightly slower: parallel map results are kept in order).
      seed: int seed of the shuffles and of the augmentation.
      input_context: ``tf.distribute.InputContext``; shards are split between
        input pipelines (by file, or by record when files are too few).
      drop_remainder: defaults to ``training``.
      with_keys: also yield the record keys: ``(L, ab, key)``.
      hints: simulated user hints (tfcolor.core.hints.sample_hints, drawn after the crop and
        flip, so they move with the photo): the first tensor is ``[B, S, S, 4]``, L then the
        hint a*b* and mask, a hint generator's input.

    Returns:
      ``tf.data.Dataset`` of ``(L [B, S, S, 1], ab [B, S, S, 2])`` float32
      tensors normalised as in :mod:`tfcolor.core.color`.
    """
    files = list_shards(file_pattern)
    repeat = training if repeat is None else repeat
    drop_remainder = training if drop_remainder is None else drop_remainder
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    files, record_context = _shard_input(files, input_context)
    if deterministic and seed is None:
        seed = 0

    # Sharding by record needs the same record order in every pipeline: no
    # file shuffle and a deterministic interleave before the shard.
    ordered_reads = deterministic or record_context is not None
    ds = tf.data.Dataset.from_tensor_slices(files)
    if training and record_context is None:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 16),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=ordered_reads,
    )
    if record_context is not None:
        ds = ds.shard(record_context.num_input_pipelines, record_context.input_pipeline_id)
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    # One stateless seed pair per element, from a seeded random stream.
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    ds = tf.data.Dataset.zip((ds, seeds))

    # Not autograph-converted: no Python control flow on tensors here (every branch is on
    # the arguments above), and converting the parsing, augmentation and colour code took
    # half a second of each command's start.
    @tf.autograph.experimental.do_not_convert
    def to_pair(serialized, element_seed):
        record = schema.parse_example(serialized)
        lab = record["lab"]
        if training and image_size:
            lab = augment(lab, image_size, element_seed, jitter_size=jitter_size, flip=flip)
        elif training and flip:
            lab = tf.image.stateless_random_flip_left_right(lab, seed=element_seed)
        elif image_size:
            lab = _center_crop_or_resize(lab, image_size)
        if image_size:
            lab = tf.ensure_shape(lab, [image_size, image_size, 3])
        l_norm, ab_norm = color.split_lab(lab)
        if hints:
            hint_ab, mask = sample_hints(ab_norm, element_seed + [0, 2])
            l_norm = tf.concat([l_norm, hint_ab, mask], axis=-1)
        if with_keys:
            return l_norm, ab_norm, record["key"]
        return l_norm, ab_norm

    ds = ds.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.deterministic = deterministic
    ds = ds.with_options(options)
    return ds.prefetch(tf.data.AUTOTUNE)
