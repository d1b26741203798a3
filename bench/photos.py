"""Real-photo test material for the benchmarks: 640x480 JPEGs cut from the sample photos."""

import os

import numpy as np
from PIL import Image

from data_prep.sample_photos import sample_photos


def write_jpegs(folder, count, size=(640, 480), seed=0):
    """Writes ``count`` distinct 640x480 JPEGs (random crops/flips of real photos)."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = list(sample_photos().values())
    paths = []
    for i in range(count):
        photo = Image.fromarray(photos[i % len(photos)])
        width, height = photo.size
        scale = rng.uniform(0.6, 1.0)
        w, h = int(width * scale), int(height * scale)
        left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        image = photo.resize(size, Image.BICUBIC, box=(left, top, left + w, top + h))
        if rng.random() < 0.5:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        path = os.path.join(folder, f"{i:05d}.jpg")
        image.save(path, quality=90)
        paths.append(path)
    return paths
