"""The evaluate command: metrics on RGB against direct computations, the gray floor,
report files, FID with local weights, skipped gray photos, and --compare."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import photo, photo_crops, run_module, write_lab_shard
from tfcolor import evaluation, inference, metrics
from tfcolor.colorizer import load_colorizer


@pytest.fixture(scope="module")
def setup(tmp_path_factory, trained_generator):
    root = tmp_path_factory.mktemp("eval")
    (root / "run").mkdir()
    trained_generator.save(root / "run" / "generator.keras")
    write_lab_shard(str(root / "data"), "val", photo_crops(6, size=40, names=("coffee", "chelsea", "rocket")))
    return root


def test_evaluate_command_on_records(setup):
    root = setup
    out = root / "out_a"
    result = run_module("tfcolor.evaluate", f"--model={root / 'run'}", f"--data={root / 'data'}",
                        f"--output_dir={out}", "--inception_weights=", "--grid_images=4")
    assert "FID skipped" in result.stderr and "LPIPS skipped" in result.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert report["count"] == 6 and len(report["per_image"]) == 6
    # Per-image numbers equal a direct computation on the same images.
    colorize, _ = load_colorizer(str(root / "run"))
    sample = evaluation.load_samples(str(root / "data"))[0]
    gray = inference.gray_rgb(sample.truth).numpy()
    row = report["per_image"][0]
    assert row["model"]["psnr"] == pytest.approx(float(metrics.psnr(colorize(gray), sample.truth)), abs=1e-4)
    assert row["gray"]["psnr"] == pytest.approx(float(metrics.psnr(gray, sample.truth)), abs=1e-4)
    assert row["gray"]["colorfulness"] < 1.0  # the floor has no colour
    summary = report["summary"]
    assert summary["model"]["psnr"] == pytest.approx(np.mean([r["model"]["psnr"] for r in report["per_image"]]))
    assert summary["model"]["colorfulness"] > summary["gray"]["colorfulness"]
    text = (out / "report.md").read_text()
    assert "| PSNR (dB) (higher better) |" in text and "gray input (floor)" in text
    assert Image.open(out / "grid.png").size == (3 * 160, 4 * 164)
    assert (out / "hist_psnr.png").exists() and (out / "hist_colorfulness.png").exists()


def test_evaluate_command_on_a_folder_with_fid_and_compare(setup, tmp_path):
    import keras

    root = setup
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, crop in enumerate(photo_crops(3, size=48, names=("coffee", "rocket"))):
        Image.fromarray(crop).save(photos / f"{i}.png")
    Image.fromarray(photo("coffee")[:48, :48]).convert("L").convert("RGB").save(photos / "gray.jpg")
    keras.utils.set_random_seed(0)
    inception = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                               input_shape=(299, 299, 3))
    inception.save_weights(tmp_path / "inception.weights.h5")
    out = tmp_path / "out_b"
    run_module("tfcolor.evaluate", f"--model={root / 'run'}", f"--data={photos}", f"--output_dir={out}",
               f"--inception_weights={tmp_path / 'inception.weights.h5'}")
    report = json.loads((out / "metrics.json").read_text())
    assert report["count"] == 3 and report["skipped"] == {"grayscale": 1}
    assert report["summary"]["model"]["fid"] >= 0 and report["summary"]["gray"]["fid"] >= 0
    result = run_module("tfcolor.evaluate", f"--compare={root / 'out_a'},{out}",
                        f"--output_dir={tmp_path / 'cmp'}")
    table = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| out_a | 6 |" in table and "| out_b | 3 |" in table and "gray input" in table
    assert (tmp_path / "cmp" / "compare.png").exists()
    assert "out_b" in result.stdout
