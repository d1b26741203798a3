"""colorize --runner=beam (tfcolor.deploy.archive): the local command's PNGs byte for byte, broken
files skipped with the local command's reasons, reruns that finish only what is missing, every
model kind through RunInference, paths on other filesystems, and a photo's colours that do not
depend on the photos batched with it."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests import launcher
from tests.conftest import REPO, photo, run_module, save
from tfcolor.deploy import colorizer, hinting

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


@pytest.fixture(scope="module")
def models(tmp_path_factory, trained_model_files, hint_generator):
    root = tmp_path_factory.mktemp("models")
    (root / "hint_run").mkdir()
    hint_generator.save(root / "hint_run" / "generator.keras")
    return {"run": trained_model_files["run"], "hint_run": str(root / "hint_run"),
            "saved_model": trained_model_files["saved_model"], "tflite": trained_model_files["fp32"]}


def make_archive(root):
    """A dozen inputs: ten photos of many sizes and modes in nested folders (one of them hinted,
    one with a broken hint file) and two broken files; returns the hints folder."""
    sizes = [(90, 120), (64, 64), (133, 47), (31, 200), (150, 101)]
    for i in range(10):
        rgb = photo(PHOTOS[i % 4])[i * 7:, i * 5:][:sizes[i % 5][0], :sizes[i % 5][1]]
        folder = root / "in" / ("roll_a" if i < 4 else "roll_b/box") if i % 3 else root / "in"
        if i == 4:
            save(str(folder / f"p{i}.png"), np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)]))  # alpha
        elif i == 7:
            save(str(folder / f"p{i}.jpg"), Image.fromarray(rgb).convert("L"))
        else:
            save(str(folder / f"p{i}.jpg"), rgb)
    (root / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (root / "in" / "roll_a" / "empty.png").write_bytes(b"")
    hints = root / "hints"
    (hints / "roll_a").mkdir(parents=True)
    (hints / "roll_a" / "p1.json").write_text(json.dumps({"points": [{"x": 10, "y": 20, "color": "#c03020"}]}))
    (hints / "p3.json").write_text("{not json")
    return hints


def tree(folder):
    """{relative path: (md5, mtime_ns)} of every file below ``folder``."""
    found = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, folder)] = (hashlib.md5(open(path, "rb").read()).hexdigest(),
                                                    os.stat(path).st_mtime_ns)
    return found


def skipped(result):
    return sorted(line for line in result.stderr.splitlines() if line.startswith("skipped "))


@pytest.mark.slow
def test_beam_writes_the_local_commands_bytes_and_a_rerun_only_what_is_missing(models, tmp_path):
    hints = make_archive(tmp_path)
    common = [f"--model={models['run']}", f"--input={tmp_path / 'in'}", f"--hints={hints}", "--side_by_side"]
    local = run_module("tfcolor.colorize", *common, f"--output_dir={tmp_path / 'local'}")
    beam = run_module("tfcolor.colorize", *common, f"--output_dir={tmp_path / 'beam'}", "--runner=beam",
                      "--num_workers=2")
    local_tree, beam_tree = tree(tmp_path / "local"), tree(tmp_path / "beam")
    assert len(local_tree) == 2 * 9  # nine photos and their side-by-sides; p3's hint file is broken
    assert {k: v[0] for k, v in beam_tree.items()} == {k: v[0] for k, v in local_tree.items()}
    assert skipped(beam) == skipped(local) and len(skipped(beam)) == 3
    assert any("p3.json: not valid JSON" in line for line in skipped(beam))
    assert "9 colourised (0 already there), 3 skipped" in beam.stdout
    assert "FnApiRunner" in beam.stdout

    # A run cut short (one photo's colours missing), then run again: the missing one written, the
    # others left as they were (same bytes, same modification times).
    os.remove(tmp_path / "beam" / "roll_b" / "box" / "p5.png")
    again = run_module("tfcolor.colorize", *common, f"--output_dir={tmp_path / 'beam'}", "--runner=beam")
    assert "9 colourised (8 already there), 3 skipped" in again.stdout
    finished = tree(tmp_path / "beam")
    assert {k: v[0] for k, v in finished.items()} == {k: v[0] for k, v in local_tree.items()}
    assert all(finished[k] == beam_tree[k] for k in beam_tree if k != os.path.join("roll_b", "box", "p5.png"))
    assert not [n for n in os.listdir(tmp_path / "beam") if n.startswith(".")]  # no skipped list, no temporary


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["saved_model", "tflite", "hint_run"])
def test_every_model_kind_through_run_inference(models, kind, tmp_path):
    from tfcolor.deploy import archive

    hints = make_archive(tmp_path)
    found, _ = archive.collect_inputs([str(tmp_path / "in" / "roll_a")])
    jobs = [(i, path, name, str(tmp_path / "out" / name.replace(".jpg", ".png")))
            for i, (path, name) in enumerate(found)]
    counters, skips = archive.colorize_archive(jobs, str(tmp_path / "out"), models[kind], hints=str(hints),
                                               beam_options="--direct_num_workers=1", log=lambda m: None)
    assert counters["photos"] == 2 and counters["skipped"] == 1 and skips[0][1] == "empty_file"
    colorize, _ = colorizer.load_colorizer(models[kind])
    for _, path, name, target in jobs:
        if name.endswith(".png"):
            continue
        rgb, alpha = colorizer.read_photo(path)
        hint_file = os.path.join(hints, os.path.splitext(name)[0] + ".json")
        photo_hints = hinting.load_for_photo(hint_file, *rgb.shape[:2]) if os.path.exists(hint_file) else None
        [(expected, _)] = colorizer.colorize_photos(colorize, [(rgb, photo_hints)])
        assert open(target, "rb").read() == colorizer.encode_png(expected, alpha), name
    assert counters["bytes_written"] == sum(os.path.getsize(j[3]) for j in jobs if os.path.exists(j[3]))


def test_a_photos_colours_do_not_depend_on_the_photos_batched_with_it(trained_generator, tmp_path):
    trained_generator.save(tmp_path / "generator.keras")
    colorize, _ = colorizer.load_colorizer(str(tmp_path))
    photos = [photo(name)[:70 + 9 * i, :50 + 13 * i] for i, name in enumerate(PHOTOS * 3)]  # 12: two batches
    together = colorize.photos(photos)
    for i in (0, 5, 11):
        np.testing.assert_array_equal(colorize.photos([photos[i]])[0], together[i])
    for one, other in zip(colorize.photos(photos[::-1])[::-1], together):
        np.testing.assert_array_equal(one, other)
    # the same colours as one photo through the whole network graph, within rounding
    assert np.abs(colorize(photos[3]).astype(int) - together[3]).max() <= 1


@pytest.mark.slow
def test_paths_on_other_filesystems(models, tmp_path, monkeypatch):
    import tempfile

    from tests import remote_fs  # registers localtest://
    from tfcolor.deploy import archive

    make_archive(tmp_path)
    remote_in = remote_fs.PREFIX + str(tmp_path / "in" / "roll_b")
    found, missing = archive.collect_inputs([remote_in, remote_fs.PREFIX + str(tmp_path / "in" / "*.jpg"),
                                             remote_fs.PREFIX + str(tmp_path / "nothing")])
    assert [name for _, name in found] == ["box/p4.png", "box/p5.jpg", "box/p7.jpg", "box/p8.jpg",
                                           "broken.jpg", "p0.jpg", "p3.jpg", "p6.jpg", "p9.jpg"]
    assert missing == [remote_fs.PREFIX + str(tmp_path / "nothing")]
    out = remote_fs.PREFIX + str(tmp_path / "out")
    jobs = [(i, path, name, out + "/" + name.rsplit(".", 1)[0] + ".png") for i, (path, name) in enumerate(found[:2])]
    assert archive.pending(jobs, out, False) == jobs
    remote_model = remote_fs.PREFIX + models["tflite"]
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the model is fetched to
    counters, skips = archive.colorize_archive(jobs, out, remote_model, beam_options="--direct_num_workers=1",
                                               log=lambda m: None)
    assert counters["photos"] == 2 and not skips
    assert not list((tmp_path / "tmp").iterdir()), "the fetched model was left in the temporary folder"
    assert archive.pending(jobs, out, False) == []
    colorize, _ = colorizer.load_colorizer(models["tflite"])
    rgb, alpha = colorizer.read_photo(found[0][0][len(remote_fs.PREFIX):])
    assert (tmp_path / "out" / "box" / "p4.png").read_bytes() == colorizer.encode_png(colorize(rgb), alpha)


NO_BEAM = """
import sys
sys.modules["apache_beam"] = None  # as if it were not installed
from tfcolor import colorize
sys.argv = ["colorize", "%s", "--runner=beam", "--output_dir=%s"]
colorize.run()
"""


@pytest.mark.slow
def test_missing_beam_is_a_one_line_error(tmp_path):
    save(str(tmp_path / "a.jpg"), photo()[:40, :40])
    result = subprocess.run([sys.executable, "-c", NO_BEAM % (tmp_path / "a.jpg", tmp_path / "out")], cwd=REPO,
                            env=launcher.command_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --runner=beam needs Apache Beam: pip install 'tfcolor[beam]' (or apache-beam)")
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
