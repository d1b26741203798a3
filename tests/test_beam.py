"""--runner=beam gives the local runner's dataset byte for byte (shards, manifest, skipped.tsv)
on every source layout, survives a kill -9, reports duplicate keys, and says clearly when Beam
is missing. Beam runs offline here: its in-process FnApiRunner with 2 worker processes."""

import os
import subprocess
import sys

import pytest

from data_prep import beam_runner
from data_prep.convert import PrepConfig
from data_prep.decode import Item
from tfcolor.core.beam import pipeline_options
from data_prep.pipeline import write_dataset
from tests import launcher
from tests.conftest import REPO, kill_after_shards, photo_crops, read_keys, read_manifest, run_module, save
from tests.test_cifar import make_tarball, python_batches, small_images  # noqa: F401 (fixtures)
from tests.test_sources import make_bad_folder, make_coco

OUTPUT_FILES = ("manifest.json", "skipped.tsv")


def dataset_files(directory):
    """name -> bytes of every shard, the manifest and skipped.tsv."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(".tfrecord") or n in OUTPUT_FILES)
    return {name: open(os.path.join(directory, name), "rb").read() for name in names}


def both_runners(tmp_path, module, *args, beam_workers=2):
    """Runs a data_prep entry point with each runner (Beam with ``beam_workers`` worker
    processes; 1 runs it in memory); returns their output folders."""
    local, beam = tmp_path / "local", tmp_path / "beam"
    run_module(module, *args, f"--output_dir={local}", "--num_workers=0")
    result = run_module(module, *args, f"--output_dir={beam}", "--runner=beam", f"--num_workers={beam_workers}")
    assert "on FnApiRunner" in result.stderr
    return str(local), str(beam)


def assert_same_dataset(local, beam):
    ours, theirs = dataset_files(local), dataset_files(beam)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        assert ours[name] == theirs[name], name
    leftovers = [n for d in (beam, os.path.join(beam, ".prep")) for n in os.listdir(d) if ".tmp" in n]
    assert not leftovers and not os.listdir(os.path.join(beam, ".prep", beam_runner.WORK_DIR))


@pytest.mark.slow
def test_folder_with_bad_files_gives_the_same_dataset(tmp_path):
    make_bad_folder(tmp_path / "photos")
    local, beam = both_runners(tmp_path, "data_prep.folder", f"--images={tmp_path / 'photos'}", "--image_size=64",
                               "--val_fraction=0.2", "--images_per_shard=3")
    assert_same_dataset(local, beam)
    manifest = read_manifest(beam)
    assert sum(manifest["records"].values()) == 9 and len(manifest["skipped"]) == 6
    assert manifest["splits"]["train"]["shards"] == 4


@pytest.mark.slow
def test_coco_places365_and_cifar_give_the_same_datasets(tmp_path, python_batches):  # noqa: F811
    make_coco(tmp_path / "coco", colour=12, gray=3)
    local, beam = both_runners(tmp_path / "c", "data_prep.coco", f"--images={tmp_path / 'coco'}", "--fraction=0.8",
                               "--val_fraction=0.25", "--image_size=32", "--images_per_shard=4")
    assert_same_dataset(local, beam)
    assert read_manifest(beam)["skipped"].get("grayscale")

    root = tmp_path / "places"
    crops = photo_crops(7, size=80)
    lines = []
    for i, crop in enumerate(crops[:5]):
        save(str(root / "data_256" / f"a/abbey/{i + 1:08d}.jpg"), crop)
        lines.append(f"/a/abbey/{i + 1:08d}.jpg 0")
    lines.append("/b/bakery/00000001.jpg 1")  # listed, never extracted
    (root / "places365_train_standard.txt").write_text("\n".join(lines) + "\n")
    for k, crop in enumerate(crops[5:]):
        save(str(root / "val_256" / f"Places365_val_{k + 1:08d}.jpg"), crop)
    (root / "places365_val.txt").write_text("Places365_val_00000001.jpg 0\nPlaces365_val_00000002.jpg 1\n")
    # Places365 and CIFAR-10 in memory: splitting the work over processes is the same for every
    # source (COCO above, the folder test and the kill -9 test run it with 2 worker processes).
    local, beam = both_runners(tmp_path / "p", "data_prep.places365", f"--root={root}", "--image_size=32",
                               "--images_per_shard=2", beam_workers=1)
    assert_same_dataset(local, beam)
    assert read_manifest(beam)["skipped"] == {"unreadable": 1}

    make_tarball(tmp_path / "cifar-10-python.tar.gz", python_batches)
    local, beam = both_runners(tmp_path / "k", "data_prep.cifar", f"--source={tmp_path / 'cifar-10-python.tar.gz'}",
                               "--image_size=32", "--images_per_shard=4", beam_workers=1)
    assert_same_dataset(local, beam)
    assert read_manifest(beam)["records"] == {"train": 15, "test": 3}


def test_duplicate_keys_are_skipped_and_reported_by_both_runners(tmp_path):
    crops = photo_crops(5, size=48)
    items = [Item(key=f"k{i}", array=c) for i, c in enumerate(crops)]
    splits = {"train": items[:4] + [Item(key="k1", array=crops[4])], "val": [Item(key="k0", array=crops[4])]}
    config = PrepConfig(image_size=32)
    outputs = {}
    for runner, workers in (("local", 0), ("beam", 1)):
        outputs[runner] = str(tmp_path / runner)
        manifest = write_dataset(splits, outputs[runner], config, {"name": "test"}, images_per_shard=2,
                                 num_workers=workers, log=lambda m: None, runner=runner)
        assert manifest["skipped"] == {"duplicate_key": 2}
        assert manifest["records"] == {"train": 4, "val": 0}
        assert sorted(read_keys(outputs[runner], "train")) == ["k0", "k1", "k2", "k3"]
    assert_same_dataset(outputs["local"], outputs["beam"])


@pytest.mark.slow
def test_kill_9_during_a_beam_job_then_rerun_finishes_each_image_once(tmp_path):
    images = tmp_path / "images"
    for i, crop in enumerate(photo_crops(48, size=96)):
        save(str(images / f"img{i:03d}.jpg"), crop, quality=90)
    out = tmp_path / "out"
    args = ["-m", "data_prep.folder", f"--images={images}", f"--output_dir={out}", "--image_size=32",
            "--images_per_shard=2", "--val_fraction=0.25", "--runner=beam", "--num_workers=2"]
    kill_after_shards(args, out, shards=2)  # the driver and Beam's worker processes
    keys = read_keys(str(out), "train") + read_keys(str(out), "val")
    assert len(keys) == len(set(keys)) == 48
    local = tmp_path / "local"
    run_module(*args[1:3], f"--output_dir={local}", *args[4:7], "--num_workers=0")
    assert_same_dataset(str(local), str(out))


def test_pipeline_options_pick_the_offline_runner_unless_told():
    options, runner = pipeline_options("", 3)
    direct = options.get_all_options()
    assert type(runner).__name__ == "FnApiRunner"
    assert direct["direct_num_workers"] == 3 and direct["direct_running_mode"] == "multi_processing"
    options, runner = pipeline_options("--direct_num_workers=1", 3)
    assert options.get_all_options()["direct_running_mode"] == "in_memory"
    options, runner = pipeline_options(
        "--runner=DataflowRunner --project=p --region=europe-west1 --temp_location=gs://b/tmp", 2)
    assert runner is None and options.get_all_options()["runner"] == "DataflowRunner"
    assert options.get_all_options()["project"] == "p"


NO_BEAM = """
import sys
sys.modules["apache_beam"] = None  # as if it were not installed
from absl import app
from data_prep import folder
sys.argv = ["folder", "--images=%s", "--output_dir=%s", "--runner=beam"]
app.run(folder.main)
"""


@pytest.mark.slow
def test_missing_beam_is_a_one_line_error(tmp_path):
    save(str(tmp_path / "photos" / "a.jpg"), photo_crops(1, size=64)[0])
    env = launcher.command_env()
    result = subprocess.run([sys.executable, "-c", NO_BEAM % (tmp_path / "photos", tmp_path / "out")], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "error: --runner=beam needs Apache Beam: pip install 'tfcolor[beam]'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", ["gs://bucket/data", "s3://bucket/data"])
def test_the_local_runner_refuses_remote_output(tmp_path, path):
    with pytest.raises(ValueError, match="--runner=beam"):
        write_dataset({"train": [Item(key="a", array=photo_crops(1, size=40)[0])]}, path, PrepConfig(image_size=32),
                      {"name": "test"}, log=lambda m: None)


def test_remote_input_and_output_paths_through_beams_filesystems(tmp_path):
    from data_prep.splits import folder_splits
    from tests import remote_fs  # registers localtest://

    make_bad_folder(tmp_path / "photos")
    config, source = PrepConfig(image_size=32), {"name": "test"}
    local = str(tmp_path / "local")
    write_dataset(folder_splits(str(tmp_path / "photos"), 1.0, 0.2, 0), local, config, source,
                  images_per_shard=3, num_workers=0, log=lambda m: None)
    remote = remote_fs.PREFIX + str(tmp_path / "remote")
    splits = folder_splits(remote_fs.PREFIX + str(tmp_path / "photos"), 1.0, 0.2, 0)
    assert all(item.path.startswith(remote_fs.PREFIX) for items in splits.values() for item in items)
    write_dataset(splits, remote, config, source, images_per_shard=3, num_workers=1, log=lambda m: None,
                  runner="beam")
    assert_same_dataset(local, str(tmp_path / "remote"))
