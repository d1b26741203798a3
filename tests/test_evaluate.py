"""The evaluate command: metrics on RGB against direct computations, the gray floor,
report files, FID with local weights, skipped gray photos, and --compare."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.conftest import photo, photo_crops, run_module, write_lab_shard
from tfcolor.deploy import inference
from tfcolor.eval import metrics, streams
from tfcolor.eval.report import chroma_factor_to_real
from tfcolor.deploy.colorizer import load_colorizer


@pytest.fixture(scope="module")
def setup(tmp_path_factory, trained_generator):
    root = tmp_path_factory.mktemp("eval")
    (root / "run").mkdir()
    trained_generator.save(root / "run" / "generator.keras")
    write_lab_shard(str(root / "data"), "val", photo_crops(6, size=40, names=("coffee", "chelsea", "rocket")))
    return root


RECORDS = ["--inception_weights=", "--grid_images=4", "--batch_size=4"]  # the evaluation of the records


@pytest.fixture(scope="module")
def records_evaluation(setup):
    """The evaluation of the 6 records (its output folder, out_a, and the command's result)."""
    out = setup / "out_a"
    result = run_module("tfcolor.evaluate", f"--model={setup / 'run'}", f"--data={setup / 'data'}",
                        f"--output_dir={out}", *RECORDS)
    return out, result


@pytest.mark.slow
def test_evaluate_command_on_records(setup, records_evaluation):
    root = setup
    out, result = records_evaluation
    assert "FID skipped" in result.stderr and "LPIPS skipped" in result.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert report["count"] == 6 and len(report["per_image"]) == 6
    # Per-image numbers equal a direct computation on the same images.
    colorize, _ = load_colorizer(str(root / "run"))
    sample = next(streams.stream_photos(str(root / "data")))
    gray = inference.gray_rgb(sample.truth).numpy()
    np.testing.assert_array_equal(sample.gray, gray)
    row = report["per_image"][0]
    assert row["model"]["psnr"] == pytest.approx(float(metrics.psnr(colorize(gray), sample.truth)), abs=1e-4)
    assert row["gray"]["psnr"] == pytest.approx(float(metrics.psnr(gray, sample.truth)), abs=1e-4)
    assert row["gray"]["colorfulness"] < 1.0  # the floor has no colour
    summary = report["summary"]
    assert summary["model"]["psnr"] == pytest.approx(np.mean([r["model"]["psnr"] for r in report["per_image"]]))
    assert summary["model"]["colorfulness"] > summary["gray"]["colorfulness"]
    text = (out / "report.md").read_text()
    assert "| PSNR (dB) (higher better) |" in text and "gray input (floor)" in text
    factor = summary["truth"]["colorfulness"] / summary["model"]["colorfulness"]
    assert chroma_factor_to_real(summary) == pytest.approx(factor)
    assert f"its a*b* x {factor:.2f} would match it" in text
    assert Image.open(out / "grid.png").size == (3 * 160, 4 * 164)
    assert (out / "hist_psnr.png").exists() and (out / "hist_colorfulness.png").exists()


@pytest.mark.slow
def test_evaluate_command_on_a_folder_with_fid_and_compare(setup, records_evaluation, tmp_path):
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
    result = run_module("tfcolor.evaluate", f"--compare={records_evaluation[0]},{out}",
                        f"--output_dir={tmp_path / 'cmp'}")
    table = (tmp_path / "cmp" / "compare.md").read_text()
    assert "out_a | 6 |" in table and "out_b | 3 |" in table and "out_b: gray input (floor)" in table
    assert (tmp_path / "cmp" / "compare.png").exists()
    assert "out_b" in result.stdout


@pytest.mark.slow
def test_an_interrupted_evaluation_goes_on_and_ends_as_an_uninterrupted_one(setup, records_evaluation, tmp_path):
    root = setup
    common = [f"--model={root / 'run'}", f"--data={root / 'data'}", *RECORDS]
    whole_dir = records_evaluation[0]  # the same evaluation, uninterrupted
    part = tmp_path / "part"
    run_module("tfcolor.evaluate", *common, f"--output_dir={part}", "--max_images=3")
    assert len((part / "per_image.jsonl").read_text().splitlines()) == 3
    result = run_module("tfcolor.evaluate", *common, f"--output_dir={part}")
    assert "3 measured before: going on" in result.stdout
    whole = json.loads((whole_dir / "metrics.json").read_text())
    resumed = json.loads((part / "metrics.json").read_text())
    assert resumed["count"] == 6
    assert [r["key"] for r in resumed["per_image"]] == [r["key"] for r in whole["per_image"]]
    for a, b in zip(resumed["per_image"], whole["per_image"], strict=True):  # batches differ: float order
        for who in ("model", "gray"):
            assert a[who] == pytest.approx(b[who], rel=1e-4, abs=1e-4)
    assert Image.open(part / "grid.png").size == Image.open(whole_dir / "grid.png").size
    refused = run_module("tfcolor.evaluate", *common, f"--output_dir={part}", "--eval_size=32", check=False)
    assert refused.returncode == 1 and "--overwrite" in refused.stderr


@pytest.mark.slow
def test_eval_size_measures_the_centre_square(setup, tmp_path):
    root = setup
    run_module("tfcolor.evaluate", f"--model={root / 'run'}", f"--data={root / 'data'}", "--inception_weights=",
               f"--output_dir={tmp_path}", "--eval_size=32")
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["eval_size"] == 32 and {tuple(r["size"]) for r in report["per_image"]} == {(32, 32)}
    assert "centre 32x32 square" in (tmp_path / "report.md").read_text()


def test_the_chroma_factor_to_real_is_the_ratio_of_colourfulness_and_0_for_a_gray_model():
    summary = {"truth": {"colorfulness": 45.0}, "model": {"colorfulness": 30.0}}
    assert chroma_factor_to_real(summary) == 1.5
    assert chroma_factor_to_real({"truth": {"colorfulness": 45.0}, "model": {"colorfulness": 0.07}}) == 0.0


def _metrics(folder, psnr, floor, count=4):
    folder.mkdir(parents=True)
    summary = {"model": {"psnr": psnr, "ssim": 0.9}, "gray": {"psnr": floor, "ssim": 0.8}, "truth": {}}
    (folder / "metrics.json").write_text(json.dumps({"count": count, "summary": summary}))
    return str(folder)


def test_compare_names_runs_uniquely_and_keeps_each_runs_floor(tmp_path):
    from tfcolor.eval.report import compare, run_labels

    a = _metrics(tmp_path / "runs" / "a" / "eval", 20.0, 18.0)
    b = _metrics(tmp_path / "runs" / "b" / "eval", 21.0, 19.5)  # evaluated on other photos (another floor)
    table = compare([a, b], str(tmp_path / "cmp"))
    assert "| a/eval | 4 | 20 | 0.9 |" in table and "| b/eval | 4 | 21 | 0.9 |" in table
    assert "| a/eval: gray input (floor) | | 18 | 0.8 |" in table and "| b/eval: gray input (floor) | | 19.5 | 0.8 |" in table
    c = _metrics(tmp_path / "runs" / "c" / "eval", 22.0, 18.0)  # the same photos as a: one floor row
    table = compare([a, c], str(tmp_path / "cmp2"))
    assert table.count("gray input (floor)") == 1 and "| gray input (floor) | | 18 | 0.8 |" in table
    assert run_labels([a]) == ["eval"]


def test_compare_with_a_missing_folder_is_one_line(tmp_path):
    a = _metrics(tmp_path / "a", 20.0, 18.0)
    result = run_module("tfcolor.evaluate", f"--compare={a},{tmp_path / 'missing'}", f"--output_dir={tmp_path / 'c'}",
                        check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (f"error: --compare: {tmp_path / 'missing'} holds no metrics.json (evaluate into it "
                                     f"first: python -m tfcolor.evaluate --output_dir={tmp_path / 'missing'} ...)")
    assert not (tmp_path / "c").exists()
