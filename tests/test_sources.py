"""The COCO, Places365, folder and samples entry points on small data in the official layouts."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from data_prep import splits
from data_prep.decode import Item
from tests.conftest import photo, photo_crops, read_keys, read_manifest, run_module, save
from tests.test_decode import png_header_only


def test_select_fraction_is_exact_deterministic_and_order_free():
    items = [Item(key=f"{i:03d}.jpg") for i in range(101)]
    a = splits.select_fraction(items, 0.2, seed=0)
    b = splits.select_fraction(list(reversed(items)), 0.2, seed=0)
    assert len(a) == 20 and [i.key for i in a] == [i.key for i in b]
    assert {i.key for i in splits.select_fraction(items, 0.2, seed=1)} != {i.key for i in a}
    parts = splits.train_val_split(a, 0.2, seed=0)
    assert len(parts["val"]) == 4 and len(parts["train"]) == 16
    assert not {i.key for i in parts["val"]} & {i.key for i in parts["train"]}


def make_coco(root, colour=30, gray=6):
    crops = photo_crops(colour + gray, size=120)
    for i in range(colour):
        save(str(root / "train2017" / f"{i:012d}.jpg"), crops[i], quality=90)
    for i in range(colour, colour + gray):
        gray_image = np.asarray(Image.fromarray(crops[i]).convert("L"))
        if i % 2:  # 1-channel JPEG
            save(str(root / "train2017" / f"{i:012d}.jpg"), gray_image)
        else:  # grayscale stored as 3 equal channels
            save(str(root / "train2017" / f"{i:012d}.jpg"), np.dstack([gray_image] * 3))
    return {f"train2017/{i:012d}.jpg" for i in range(colour, colour + gray)}


@pytest.mark.slow
def test_coco_removes_grayscale_and_splits_80_20(tmp_path):
    gray = make_coco(tmp_path / "coco")
    out = tmp_path / "out"
    run_module("data_prep.coco", f"--images={tmp_path / 'coco'}", f"--output_dir={out}",
               "--fraction=1.0", "--val_fraction=0.2", "--image_size=64", "--num_workers=0")
    manifest = read_manifest(str(out))
    assert manifest["skipped"] == {"grayscale": 6}
    assert sorted(manifest["skipped_examples"]["grayscale"]) == sorted(gray)
    assert manifest["splits"]["val"]["inputs"] == 7 and manifest["splits"]["train"]["inputs"] == 29
    assert manifest["records"]["train"] + manifest["records"]["val"] == 30
    keys = read_keys(str(out), "train") + read_keys(str(out), "val")
    assert not set(keys) & gray


@pytest.mark.slow
def test_coco_fraction_picks_a_deterministic_subset(tmp_path):
    make_coco(tmp_path / "coco", colour=20, gray=0)
    keys = []
    for run in ("a", "b"):
        out = tmp_path / run
        run_module("data_prep.coco", f"--images={tmp_path / 'coco'}", f"--output_dir={out}",
                   "--fraction=0.2", "--val_fraction=0.25", "--image_size=32", "--num_workers=0")
        keys.append(sorted(read_keys(str(out), "train") + read_keys(str(out), "val")))
        assert read_manifest(str(out))["records"] == {"train": 3, "val": 1}
    assert keys[0] == keys[1] and len(keys[0]) == 4


@pytest.mark.slow
def test_places365_official_file_lists(tmp_path):
    root = tmp_path / "places"
    crops = photo_crops(9, size=100)
    train_lines, val_lines = [], []
    for i, category in enumerate(["a/abbey", "a/airfield", "b/bakery/shop"]):
        for j in range(2):
            rel = f"{category}/{j + 1:08d}.jpg"
            save(str(root / "data_256" / rel), crops[2 * i + j])
            train_lines.append(f"/{rel} {i}")
    train_lines.append("/c/canyon/00000001.jpg 3")  # listed, never extracted
    for k in range(3):
        save(str(root / "val_256" / f"Places365_val_{k + 1:08d}.jpg"), crops[6 + k])
        val_lines.append(f"Places365_val_{k + 1:08d}.jpg {k}")
    (root / "places365_train_standard.txt").write_text("\n".join(train_lines) + "\n")
    (root / "places365_val.txt").write_text("\n".join(val_lines) + "\n")
    out = tmp_path / "out"
    run_module("data_prep.places365", f"--root={root}", f"--output_dir={out}",
               "--image_size=64", "--num_workers=0")
    manifest = read_manifest(str(out))
    assert manifest["records"] == {"train": 6, "val": 3}
    assert manifest["skipped"] == {"unreadable": 1}
    assert sorted(read_keys(str(out), "val")) == [f"val/Places365_val_{k:08d}.jpg" for k in (1, 2, 3)]


@pytest.mark.slow
def test_places365_plain_folders(tmp_path):
    root = tmp_path / "places"
    for i, crop in enumerate(photo_crops(5, size=80)):
        save(str(root / ("train/x" if i < 4 else "val") / f"{i}.png"), crop)
    out = tmp_path / "out"
    run_module("data_prep.places365", f"--root={root}", f"--output_dir={out}",
               "--image_size=64", "--num_workers=0")
    assert read_manifest(str(out))["records"] == {"train": 4, "val": 1}


def make_bad_folder(images):
    """4 good photos, 5 odd ones that are fixed or skipped, and 5 broken files: the kinds of file
    a real photo collection holds."""
    coffee = photo("coffee")[100:300, 200:400]
    for i, crop in enumerate(photo_crops(4, size=100)):
        save(str(images / "good" / f"{i}.jpg"), crop)
    save(str(images / "odd" / "cmyk.jpg"), Image.fromarray(coffee).convert("CMYK"))
    rgba = np.dstack([coffee, np.full(coffee.shape[:2], 128, np.uint8)])
    save(str(images / "odd" / "alpha.png"), rgba)
    (images / "odd" / "deep.png").write_bytes(tf.io.encode_png(coffee.astype(np.uint16) * 257).numpy())
    save(str(images / "odd" / "palette.png"), Image.fromarray(coffee).convert("P", palette=Image.Palette.ADAPTIVE))
    save(str(images / "odd" / "small.png"), coffee[:40, :50])
    save(str(images / "odd" / "gray.jpg"), np.asarray(Image.fromarray(coffee).convert("L")))
    bad = images / "bad"
    bad.mkdir()
    full = (images / "good" / "0.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.jpg").write_text("hello")
    (bad / "bomb.png").write_bytes(png_header_only(30000, 30000))
    os.symlink(bad / "missing.jpg", bad / "dangling.jpg")
    (images / "README.txt").write_text("not an image extension: ignored")


@pytest.mark.slow
def test_folder_with_every_kind_of_bad_file_never_crashes(tmp_path):
    images = tmp_path / "photos"
    make_bad_folder(images)
    out = tmp_path / "out"
    result = run_module("data_prep.folder", f"--images={images}", f"--output_dir={out}",
                        "--image_size=64", "--val_fraction=0", "--num_workers=0")
    manifest = read_manifest(str(out))
    assert manifest["records"] == {"train": 9}
    assert manifest["skipped"] == {
        "empty_file": 1, "grayscale": 1, "not_an_image": 1, "too_many_pixels": 1,
        "truncated_or_corrupt": 1, "unreadable": 1,
    }
    assert manifest["fixed"] == {
        "16bit_reduced": 1, "alpha_composited": 1, "cmyk_converted": 1,
        "palette_converted": 1, "upscaled": 1,
    }
    assert "skipped: empty_file 1" in result.stdout


@pytest.mark.slow
def test_samples_cli_builds_train_and_held_out_val(tmp_path):
    """Through the tfcolor-prepare dispatcher, which runs exactly `python -m data_prep.samples`."""
    out = tmp_path / "samples"
    run_module("data_prep.prepare", "samples", f"--output_dir={out}", "--image_size=32",
               "--train_crops=3", "--val_crops=1", "--num_workers=0")
    manifest = read_manifest(str(out))
    assert manifest["records"] == {"train": 18, "val": 6}
    val = read_keys(str(out), "val")
    assert all("/val_" in key for key in val) and len(set(val)) == 6


def test_prepare_without_a_known_source_lists_the_sources():
    result = run_module("data_prep.prepare", "imagenet", check=False)
    assert result.returncode == 2
    assert all(name in result.stderr for name in ("samples", "folder", "coco", "places365", "cifar"))


def test_home_in_path_flags_and_missing_inputs_are_one_line(tmp_path):
    """`--images=~/pics` (the shell leaves ~ after = alone) is the home folder; a missing folder
    or source file is one error line, exit 1, nothing written (issue 40)."""
    from tests import launcher

    home = tmp_path / "home"
    save(str(home / "pics" / "a.png"), photo("coffee")[:80, :80])
    env = launcher.command_env(HOME=str(home))
    ok = launcher.run(["-m", "data_prep.folder", "--images=~/pics", "--output_dir=~/out", "--image_size=32",
                       "--val_fraction=0", "--num_workers=0"], env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert read_manifest(str(home / "out"))["splits"]["train"]["records"] == 1
    for module, flag in (("data_prep.folder", f"--images={tmp_path / 'nowhere'}"),
                         ("data_prep.cifar", f"--source={tmp_path / 'nowhere.tar.gz'}")):
        bad = launcher.run(["-m", module, flag, f"--output_dir={tmp_path / 'out'}"], env)
        assert bad.returncode == 1 and "Traceback" not in bad.stderr, bad.stderr[-2000:]
        assert bad.stderr.strip().splitlines()[-1].startswith("error: ") and str(tmp_path / "nowhere") in bad.stderr
        assert not (tmp_path / "out").exists()
    # A folder made with other arguments (the Beam runner shares the check: same line).
    other = launcher.run(["-m", "data_prep.folder", "--images=~/pics", "--output_dir=~/out", "--image_size=48",
                          "--val_fraction=0", "--num_workers=0"], env)
    assert other.returncode == 1 and "Traceback" not in other.stderr
    assert other.stderr.strip().splitlines()[-1] == (f"error: {home / 'out'} holds a dataset made with other inputs or "
                                                     f"arguments; use another --output_dir or pass --overwrite to "
                                                     f"replace it")
