"""CIFAR-10 -> Lab TFRecords at 32x32, official train (50,000) and test (10,000) splits.

--source is the official python tarball ``cifar-10-python.tar.gz`` (read in
place, never extracted), its extracted folder ``cifar-10-batches-py/``, the
binary version (``cifar-10-binary.tar.gz`` / ``cifar-10-batches-bin/``), or
``tfds`` to read it through tensorflow-datasets (optional extra; needs the
data already downloaded or a network).

The python version is pickled. Unpickling can run arbitrary code, so it is
read with a restricted unpickler that only builds dicts, lists, strings and
numpy arrays; anything else is refused (``pickle.UnpicklingError``).

Grayscale images are kept by default (the splits stay exactly 50,000/10,000);
pass --drop_grayscale to drop them.

Example usage:

    python -m data_prep.cifar --source=cifar-10-python.tar.gz --output_dir=data/cifar10
"""

import io
import os
import pickle
import tarfile

import numpy as np
from absl import flags

from data_prep import cli
from data_prep.decode import Item
from tfcolor.core import entry

flags.DEFINE_string("source", None, "CIFAR-10 tarball, its folder, or 'tfds'.", required=True)
flags.DEFINE_string("tfds_data_dir", None, "data_dir for --source=tfds.")
cli.define_flags(image_size=32, drop_grayscale=False, min_size=8, images_per_shard=10000)
flags.adopt_module_key_flags(cli)
FLAGS = flags.FLAGS

SPLIT_BATCHES = {
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
}
_RECORD_BYTES = 1 + 32 * 32 * 3


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct as fn
    return fn


class SafeUnpickler(pickle.Unpickler):
    """Builds only what the CIFAR pickles contain: containers and numpy arrays."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 pickle holds only dicts and numpy arrays"
            )
        if name == "_reconstruct":
            return _reconstruct()
        return getattr(np, name)


def load_pickle(data):
    """Safely unpickles one CIFAR python batch file's bytes."""
    return SafeUnpickler(io.BytesIO(data), encoding="bytes").load()


def _to_images(rows):
    """[N, 3072] planar rows (R, G, B planes of 32x32) -> [N, 32, 32, 3] uint8."""
    return np.asarray(rows, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def python_batch_items(batch_name, data):
    batch = load_pickle(data)
    images = _to_images(batch[b"data"])
    names = batch.get(b"filenames") or [b""] * len(images)
    return [
        Item(key=f"{batch_name}/{i:05d}_{name.decode('utf-8', 'replace')}", array=image)
        for i, (image, name) in enumerate(zip(images, names))
    ]


def binary_batch_items(batch_name, data):
    records = np.frombuffer(data, np.uint8)
    if records.size % _RECORD_BYTES:
        raise ValueError(f"{batch_name}: size is not a multiple of {_RECORD_BYTES} bytes")
    images = _to_images(records.reshape(-1, _RECORD_BYTES)[:, 1:])
    return [Item(key=f"{batch_name}/{i:05d}", array=image) for i, image in enumerate(images)]


def _read_members(source):
    """name -> bytes for every batch file in a tarball or folder (python or binary)."""
    wanted = {n for names in SPLIT_BATCHES.values() for n in names}
    wanted |= {n + ".bin" for n in wanted}
    found = {}
    if os.path.isfile(source):
        with tarfile.open(source) as tar:
            for member in tar.getmembers():
                name = os.path.basename(member.name)
                if member.isfile() and name in wanted:
                    found[name] = tar.extractfile(member).read()
    elif os.path.isdir(source):
        for folder, _, files in os.walk(source):
            for name in files:
                if name in wanted:
                    with open(os.path.join(folder, name), "rb") as f:
                        found[name] = f.read()
    else:
        raise ValueError(f"--source {source} is neither a file, a folder nor 'tfds'")
    return found


def cifar_splits(source):
    """Reads the official CIFAR-10 files into {'train': items, 'test': items}."""
    members = _read_members(source)
    result = {}
    for split, batches in SPLIT_BATCHES.items():
        items = []
        for batch in batches:
            if batch in members:
                items += python_batch_items(batch, members[batch])
            elif batch + ".bin" in members:
                items += binary_batch_items(batch, members[batch + ".bin"])
            else:
                raise ValueError(f"{source} has no CIFAR-10 batch {batch!r} (python or binary version)")
        result[split] = items
    return result


def tfds_splits(data_dir=None):
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise SystemExit("--source=tfds needs tensorflow-datasets: pip install 'tfcolor[tfds]'") from e
    result = {}
    for split in ("train", "test"):
        ds = tfds.load("cifar10", split=split, data_dir=data_dir)
        result[split] = [
            Item(key=f"{split}/{ex['id'].decode()}", array=ex["image"]) for ex in tfds.as_numpy(ds)
        ]
    return result


def main(argv):
    del argv
    if FLAGS.source == "tfds":
        splits = tfds_splits(FLAGS.tfds_data_dir)
    else:
        splits = cifar_splits(FLAGS.source)
    cli.run(splits, source="cifar10", source_flags=("source",))


if __name__ == "__main__":
    entry.run(main, __name__, user_errors=(ValueError, OSError))
