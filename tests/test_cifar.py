"""data_prep.cifar on files in the official CIFAR-10 layouts, and the pickle safety."""

import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from data_prep import cifar
from tests.conftest import photo_crops, read_keys, read_manifest, run_module


class Py2Pickler(pickle._Pickler):
    """Pickles like the Python 2 cPickle that wrote the official files: bytes as
    py2 ``str`` opcodes and numpy's ``numpy.core.multiarray`` module path."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", "") == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def official_batch(images, labels, name):
    """One batch file's bytes, as in cifar-10-python.tar.gz."""
    rows = np.stack(images).transpose(0, 3, 1, 2).reshape(len(images), 3072)
    batch = {
        b"batch_label": f"{name} of 5".encode(),
        b"labels": list(labels),
        b"data": rows,
        b"filenames": [f"img_{i:04d}.png".encode() for i in range(len(images))],
    }
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(batch)
    return buffer.getvalue()


def make_tarball(path, batches, folder="cifar-10-batches-py"):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture(scope="module")
def small_images():
    return [np.ascontiguousarray(c[::3, ::3][:32, :32]) for c in photo_crops(18, size=96)]


@pytest.fixture(scope="module")
def python_batches(small_images):
    names = cifar.SPLIT_BATCHES["train"] + cifar.SPLIT_BATCHES["test"]
    return {
        name: official_batch(small_images[3 * i : 3 * i + 3], [i] * 3, name)
        for i, name in enumerate(names)
    }


def test_official_pickle_loads_to_the_same_pixels(python_batches, small_images):
    assert b"numpy.core.multiarray" in python_batches["data_batch_1"]
    items = cifar.python_batch_items("data_batch_1", python_batches["data_batch_1"])
    assert [i.key for i in items] == [f"data_batch_1/{n:05d}_img_{n:04d}.png" for n in range(3)]
    for item, image in zip(items, small_images[:3]):
        np.testing.assert_array_equal(item.array, image)


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = pickle.dumps({b"data": Exploit()}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        cifar.load_pickle(evil)
    tarball = tmp_path / "cifar-10-python.tar.gz"
    make_tarball(tarball, {"data_batch_1": evil})
    with pytest.raises(pickle.UnpicklingError):
        cifar.cifar_splits(str(tarball))
    assert not marker.exists()


@pytest.mark.slow
def test_python_tarball_cli_keeps_train_and_test_splits(tmp_path, python_batches):
    tarball = tmp_path / "cifar-10-python.tar.gz"
    make_tarball(tarball, python_batches)
    out = tmp_path / "out"
    result = run_module("data_prep.cifar", f"--source={tarball}", f"--output_dir={out}", "--num_workers=0")
    assert "train: 15 records of 15 inputs" in result.stdout
    manifest = read_manifest(str(out))
    assert manifest["records"] == {"train": 15, "test": 3}
    assert manifest["image_size"] == 32 and manifest["skipped"] == {}
    assert sorted(read_keys(str(out), "test")) == [f"test_batch/{n:05d}_img_{n:04d}.png" for n in range(3)]


def test_extracted_folder_and_binary_version_give_the_same_images(tmp_path, python_batches, small_images):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, data in python_batches.items():
        (folder / name).write_bytes(data)
    from_folder = cifar.cifar_splits(str(tmp_path))
    binary = tmp_path / "bin" / "cifar-10-batches-bin"
    binary.mkdir(parents=True)
    for i, name in enumerate(cifar.SPLIT_BATCHES["train"] + cifar.SPLIT_BATCHES["test"]):
        images = np.stack(small_images[3 * i : 3 * i + 3]).transpose(0, 3, 1, 2).reshape(3, 3072)
        records = np.concatenate([np.full((3, 1), i, np.uint8), images], axis=1)
        (binary / f"{name}.bin").write_bytes(records.tobytes())
    from_binary = cifar.cifar_splits(str(tmp_path / "bin"))
    for split in ("train", "test"):
        assert len(from_folder[split]) == len(from_binary[split]) == {"train": 15, "test": 3}[split]
        for a, b in zip(from_folder[split], from_binary[split]):
            np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_array_equal(from_binary["train"][4].array, small_images[4])


def test_missing_batch_is_a_clear_error(tmp_path, python_batches):
    tarball = tmp_path / "partial.tar.gz"
    make_tarball(tarball, {"data_batch_1": python_batches["data_batch_1"]})
    with pytest.raises(ValueError, match="data_batch_2"):
        cifar.cifar_splits(str(tarball))
