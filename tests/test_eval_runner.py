"""The evaluation loop's library: the resumable results log, FID from the features file,
metric batches within the pixel budget, and batched colourisation."""

import json

import numpy as np
import pytest

from tests.conftest import photo_crops
from tfcolor.deploy import inference
from tfcolor.eval import metrics, perceptual, runner, streams

SETTINGS = {"model": "m", "data": "d", "eval_size": 0, "lpips": False, "fid": True}


def _row(key):
    return {"key": key, "model": {"psnr": 1.0}}


def strict_json(text):
    """json.loads that refuses NaN and Infinity, as every JSON parser but Python's does."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_the_evaluation_files_are_valid_json_when_a_measure_is_not_finite(tmp_path):
    # a gray photo coloured exactly: PSNR infinite; an undefined measure: NaN
    row = {"key": "gray", "model": {"psnr": float("inf"), "colorfulness": float("nan"), "mae": 0.0}}
    log = runner.ResultsLog(str(tmp_path), SETTINGS, feature_dim=4)
    log.append([row], np.zeros((1, 12)))
    line = (tmp_path / "per_image.jsonl").read_text().splitlines()[0]
    assert strict_json(line)["model"] == {"psnr": None, "colorfulness": None, "mae": 0.0}
    again = runner.ResultsLog(str(tmp_path), SETTINGS, feature_dim=4)  # read back: NaN again
    assert np.isnan(again.rows[0]["model"]["psnr"]) and again.rows[0]["model"]["mae"] == 0.0
    from tfcolor.core import fs

    assert strict_json(fs.json_text({"means": {"psnr": float("-inf")}, "n": [1.5, float("nan")]})) == {
        "means": {"psnr": None}, "n": [1.5, None]}


def test_results_log_resumes_after_a_cut_line_and_refuses_other_settings(tmp_path):
    rng = np.random.default_rng(0)
    log = runner.ResultsLog(str(tmp_path), SETTINGS, feature_dim=4)
    log.append([_row("a"), _row("b")], rng.normal(size=(2, 12)))
    log.append([_row("c")], rng.normal(size=(1, 12)))
    # A kill in the middle of the next append: features written, the row cut.
    with open(tmp_path / "fid_features.f32", "ab") as f:
        f.write(np.ones(12, np.float32).tobytes())
    with open(tmp_path / "per_image.jsonl", "a") as f:
        f.write('{"key": "d", "mod')
    again = runner.ResultsLog(str(tmp_path), SETTINGS, feature_dim=4)
    assert [r["key"] for r in again.rows] == ["a", "b", "c"] and again.done == {"a", "b", "c"}
    assert (tmp_path / "fid_features.f32").stat().st_size == 3 * 12 * 4
    again.append([_row("d")], np.zeros((1, 12)))
    lines = (tmp_path / "per_image.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="eval_size.*--overwrite"):
        runner.ResultsLog(str(tmp_path), {**SETTINGS, "eval_size": 256})
    fresh = runner.ResultsLog(str(tmp_path), {**SETTINGS, "eval_size": 256}, overwrite=True)
    assert fresh.rows == [] and not (tmp_path / "fid_features.f32").exists()


def test_fid_from_the_features_file_equals_the_in_memory_fid(tmp_path):
    rng = np.random.default_rng(1)
    features = rng.normal(size=(40, 3, 6)) + [[0.0], [0.5], [0.2]]
    log = runner.ResultsLog(str(tmp_path), SETTINGS, feature_dim=6)
    log.append([_row(str(i)) for i in range(25)], features[:25].reshape(25, -1))
    log.append([_row(str(i)) for i in range(25, 40)], features[25:].reshape(15, -1))
    fid = log.fid(chunk=7)
    for s, who in enumerate(("model", "gray")):
        assert fid[who] == pytest.approx(perceptual.fid(features[:, s], features[:, 2]), rel=1e-5)


def test_metric_groups_stay_within_the_pixel_budget():
    shapes = [(640, 1024, 3)] * 5 + [(256, 256, 3)] * 3
    budget = 4 * 2 * 640 * 1024  # 4 padded model + gray pairs at 640x1024
    # One big photo + three small ones pad to 4 x 640x1024: exactly the budget.
    assert runner._metric_groups(shapes, budget) == [(0, 4), (4, 8)]
    # One pixel less: 3 photos pad to 4, so groups of 2; the last two small ones pad to 256x256.
    assert runner._metric_groups(shapes, budget - 1) == [(0, 2), (2, 4), (4, 6), (6, 8)]


@pytest.mark.slow
def test_measure_matches_the_per_image_metrics_and_batches_match_single_calls(trained_generator, tmp_path):
    from tfcolor.deploy.colorizer import load_colorizer

    trained_generator.save(tmp_path / "generator.keras")
    colorize, _ = load_colorizer(str(tmp_path))
    crops = photo_crops(4, size=40) + [c[:, :30] for c in photo_crops(2, size=40)]
    photos = [streams.Photo(str(i), c, inference.gray_rgb(c).numpy()) for i, c in enumerate(crops)]
    colorized = runner.colorize_batch(colorize, [p.gray for p in photos])
    for p, out in zip(photos, colorized, strict=True):
        np.testing.assert_array_equal(out, colorize(p.gray))
    rows = runner.measure(photos, colorized)
    for p, out, row in zip(photos, colorized, rows, strict=True):
        assert row["size"] == list(p.truth.shape[:2])
        for name in ("psnr", "ssim", "mae", "uiqi"):
            fn = getattr(metrics, name)
            assert row["model"][name] == pytest.approx(float(fn(out, p.truth)), abs=1e-4)
            assert row["gray"][name] == pytest.approx(float(fn(p.gray, p.truth)), abs=1e-4)
        assert row["truth_colorfulness"] == pytest.approx(float(metrics.colorfulness(p.truth)), rel=1e-5)
        assert row["gray"]["colorfulness"] < 1.0
