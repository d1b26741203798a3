"""Shared helpers: real photos from scikit-image and small files in official layouts."""

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def photo(name="astronaut"):
    import skimage.data

    image = getattr(skimage.data, name)()
    return image[0] if isinstance(image, tuple) else image


def photo_crops(count, size=96, names=("astronaut", "coffee", "chelsea", "rocket")):
    """``count`` distinct real-photo crops of ``size`` px (deterministic)."""
    rng = np.random.default_rng(0)
    crops = []
    for i in range(count):
        image = photo(names[i % len(names)])
        top = int(rng.integers(0, image.shape[0] - size))
        left = int(rng.integers(0, image.shape[1] - size))
        crops.append(np.ascontiguousarray(image[top : top + size, left : left + size]))
    return crops


def save(path, array_or_image, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    image.save(path, **kwargs)
    return path


def run_module(module, *args, timeout=300):
    """Runs ``python -m module args`` from the repo; returns the completed process."""
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"{module} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result


def read_manifest(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        return json.load(f)


def read_keys(directory, split):
    """Every record key of a split, as a list (duplicates kept)."""
    import tensorflow as tf

    from tfcolor import schema

    files = tf.io.gfile.glob(schema.shard_pattern(directory, split))
    return [
        schema.parse_example(r)["key"].numpy().decode()
        for r in tf.data.TFRecordDataset(sorted(files))
    ]


@pytest.fixture(scope="session")
def astronaut():
    return photo("astronaut")
