"""The Lab TFRecord schema: defined once, used by data_prep (writer) and tfcolor.core.data (reader).

Each record is a ``tf.train.Example`` holding one square image in CIE L*a*b*:

=================  ======  ==================================================
feature            type    meaning
=================  ======  ==================================================
``lab``            bytes   H*W*3 raw uint8, row-major, 8-bit Lab encoding below
``height``         int64   H of the stored image
``width``          int64   W of the stored image
``source_height``  int64   height of the original photo
``source_width``   int64   width of the original photo
``key``            bytes   stable identifier (relative path, CIFAR file name...)
``schema_version`` int64   :data:`SCHEMA_VERSION`
=================  ======  ==================================================

8-bit Lab encoding (the same as OpenCV's 8-bit Lab):
``L8 = round(L * 255 / 100)``, ``a8 = round(a) + 128``, ``b8 = round(b) + 128``.
A 256x256 record is 196,608 bytes of pixels plus ~100 bytes of framing, and
the rounding costs a mean CIE76 colour error of ~0.4 (bench/README.md).

Shard files are named ``SPLIT-00000-of-00004.tfrecord``; ``manifest.json``
beside them describes the dataset (see data_prep).
"""

import json
import os

import importlib

import numpy as np


class _Lazy:
    """TensorFlow, imported on first use: the names and the shard layout are needed by
    data_prep's ``--help`` and planning, which should not wait for TensorFlow to load."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("tensorflow"), name)


tf = _Lazy()

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
SHARD_SUFFIX = ".tfrecord"

_L_TO_U8 = 255.0 / 100.0
_AB_OFFSET = 128.0

FIELDS = {  # feature name -> "bytes" or "int64"; every field is one value per record
    "lab": "bytes", "height": "int64", "width": "int64", "source_height": "int64",
    "source_width": "int64", "key": "bytes", "schema_version": "int64",
}


def features():
    """The parsing spec of :data:`FIELDS` for ``tf.io.parse_single_example``."""
    dtypes = {"bytes": tf.string, "int64": tf.int64}
    return {name: tf.io.FixedLenFeature([], dtypes[kind]) for name, kind in FIELDS.items()}


def encode_lab(lab):
    """Float Lab ``[..., 3]`` in natural units -> uint8 8-bit Lab encoding."""
    lab = tf.convert_to_tensor(lab, tf.float32)
    scaled = lab * [_L_TO_U8, 1.0, 1.0] + [0.0, _AB_OFFSET, _AB_OFFSET]
    return tf.cast(tf.clip_by_value(tf.round(scaled), 0.0, 255.0), tf.uint8)


def decode_lab(lab_u8):
    """uint8 8-bit Lab encoding ``[..., 3]`` -> float32 Lab in natural units."""
    lab = tf.cast(lab_u8, tf.float32)
    return (lab - [0.0, _AB_OFFSET, _AB_OFFSET]) / [_L_TO_U8, 1.0, 1.0]


def _int64(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def serialize_example(key, lab_u8, source_size):
    """Builds one serialized record.

    Args:
      key: str identifier of the image.
      lab_u8: uint8 array ``[H, W, 3]`` from :func:`encode_lab`.
      source_size: (height, width) of the original photo.

    Returns:
      bytes of a serialized ``tf.train.Example``.
    """
    lab_u8 = np.asarray(lab_u8)
    if lab_u8.dtype != np.uint8 or lab_u8.ndim != 3 or lab_u8.shape[-1] != 3:
        raise ValueError(f"lab_u8 must be uint8 [H, W, 3], got {lab_u8.dtype} {lab_u8.shape}")
    height, width, _ = lab_u8.shape
    feature = {
        "lab": _bytes(np.ascontiguousarray(lab_u8).tobytes()),
        "height": _int64(height),
        "width": _int64(width),
        "source_height": _int64(source_size[0]),
        "source_width": _int64(source_size[1]),
        "key": _bytes(key.encode("utf-8")),
        "schema_version": _int64(SCHEMA_VERSION),
    }
    # deterministic: map entries in key order, so the same image gives the same bytes in every
    # process (protobuf's map order otherwise varies between processes and runners).
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def parse_example(serialized):
    """Parses one serialized record (works eagerly and inside ``tf.data``).

    Returns:
      dict with ``lab`` (float32 ``[H, W, 3]`` in natural units), ``key``,
      ``height``, ``width``, ``source_height``, ``source_width``.
    """
    parsed = tf.io.parse_single_example(serialized, features())
    check = tf.debugging.assert_equal(
        parsed["schema_version"],
        tf.constant(SCHEMA_VERSION, tf.int64),
        message=f"record schema_version differs from tfcolor's ({SCHEMA_VERSION}); "
        "prepare the data again with this version of data_prep",
    )
    with tf.control_dependencies([check]):
        pixels = tf.io.decode_raw(parsed["lab"], tf.uint8)
    shape = tf.stack([parsed["height"], parsed["width"], 3])
    result = {name: parsed[name] for name in ("key", "height", "width", "source_height", "source_width")}
    result["lab"] = decode_lab(tf.reshape(pixels, tf.cast(shape, tf.int32)))
    return result


def shard_name(split, index, num_shards):
    """``train-00003-of-00010.tfrecord``."""
    return f"{split}-{index:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"


def shard_pattern(data_dir, split):
    """Glob pattern matching every shard of ``split`` in ``data_dir``."""
    return os.path.join(data_dir, f"{split}-?????-of-?????{SHARD_SUFFIX}")


def shards_to_read(path):
    """Sorted shard files to read for evaluation-like uses: a prepared dataset folder's
    validation shards (else test, else train), or the files a glob matches. [] if none."""
    if os.path.isdir(path):
        for split in ("val", "test", "train"):
            files = sorted(tf.io.gfile.glob(shard_pattern(path, split)))
            if files:
                return files
        return []
    return sorted(tf.io.gfile.glob(path))


def read_manifest(data_dir):
    """Loads ``manifest.json`` of a prepared dataset directory."""
    path = os.path.join(data_dir, MANIFEST_NAME)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"{path} not found: {data_dir} is not a dataset made by data_prep "
            "(run e.g. `python -m data_prep.samples --output_dir=...` first)"
        )
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)
