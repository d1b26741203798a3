"""The colour photos that ship with the dependencies, and crops of them.

No download: scikit-image (astronaut, coffee, chelsea, rocket, the left
motorcycle view) and matplotlib (Grace Hopper).
"""

import numpy as np

from data_prep.decode import Item

VAL_STRIP = 0.3


def sample_photos():
    """name -> uint8 RGB array of every embedded colour photo."""
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    photos = {
        "astronaut": skimage.data.astronaut(),
        "coffee": skimage.data.coffee(),
        "chelsea": skimage.data.chelsea(),
        "rocket": skimage.data.rocket(),
        "motorcycle": skimage.data.stereo_motorcycle()[0],
    }
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        photos["grace_hopper"] = np.asarray(Image.open(f).convert("RGB"))
    return photos


def split_regions(photo):
    """(train_region, val_region): the val region is the last 30 % along the longer side."""
    height, width = photo.shape[:2]
    if width >= height:
        cut = int(round(width * (1 - VAL_STRIP)))
        return photo[:, :cut], photo[:, cut:]
    cut = int(round(height * (1 - VAL_STRIP)))
    return photo[:cut], photo[cut:]


def random_crops(region, count, rng, min_scale=0.5):
    """``count`` random square crops with sides between min_scale and 1 of the shorter side."""
    height, width = region.shape[:2]
    short = min(height, width)
    crops = []
    for _ in range(count):
        side = int(rng.integers(int(short * min_scale), short + 1))
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        crops.append(np.ascontiguousarray(region[top : top + side, left : left + side]))
    return crops


def sample_splits(train_crops, val_crops, seed):
    rng = np.random.default_rng(seed)
    result = {"train": [], "val": []}
    for name, photo in sorted(sample_photos().items()):
        train_region, val_region = split_regions(photo)
        for split, region, count in (("train", train_region, train_crops), ("val", val_region, val_crops)):
            for i, crop in enumerate(random_crops(region, count, rng)):
                result[split].append(Item(key=f"{name}/{split}_{i:03d}", array=crop))
    result["train"] = [result["train"][i] for i in rng.permutation(len(result["train"]))]
    return result
