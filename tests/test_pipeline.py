"""The sharded writer: manifest counts, worker processes, refusal to mix runs, kill -9 resume."""


import numpy as np
import pytest

from data_prep.convert import PrepConfig
from data_prep.decode import Item
from data_prep.pipeline import plan_shards, write_dataset
from tests.conftest import kill_after_shards, photo, photo_crops, read_keys, read_manifest, save

CONFIG = PrepConfig(image_size=32, min_size=16)


def records(directory):
    import tensorflow as tf

    from tfcolor.core import schema

    files = sorted(tf.io.gfile.glob(schema.shard_pattern(directory, "train")))
    return [schema.parse_example(r) for r in tf.data.TFRecordDataset(files)]


def quiet(message):
    del message


def test_plan_cuts_splits_into_near_equal_contiguous_shards():
    items = [Item(key=str(i)) for i in range(17)]
    shards = plan_shards({"train": items, "val": items[:2], "empty": []}, images_per_shard=6)
    assert [(s.split, s.index, s.count, len(s.items)) for s in shards] == [
        ("train", 0, 3, 5), ("train", 1, 3, 6), ("train", 2, 3, 6), ("val", 0, 1, 2),
    ]
    assert [i.key for s in shards[:3] for i in s.items] == [str(i) for i in range(17)]


def test_manifest_counts_records_skips_and_fixes(tmp_path):
    good = [Item(key=f"g{i}", array=c) for i, c in enumerate(photo_crops(5, size=40))]
    gray = np.dstack([photo("coffee")[:40, :40, 0]] * 3)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    items = good + [Item(key="gray", array=gray), Item(key="empty", path=str(empty))]
    manifest = write_dataset(
        {"train": items[:4], "val": items[4:]}, str(tmp_path / "out"), CONFIG,
        {"name": "test"}, images_per_shard=3, num_workers=0, log=quiet,
    )
    assert manifest["records"] == {"train": 4, "val": 1}
    assert manifest["skipped"] == {"empty_file": 1, "grayscale": 1}
    assert manifest["skipped_examples"] == {"empty_file": ["empty"], "grayscale": ["gray"]}
    assert manifest["fixed"] == {"upscaled": 0} or manifest["fixed"] == {}
    assert manifest["splits"]["train"]["files"] == [
        "train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord"
    ]
    assert read_manifest(str(tmp_path / "out")) == manifest
    rows = (tmp_path / "out" / "skipped.tsv").read_text().splitlines()
    assert sorted(rows[1:]) == ["val\tempty\tempty_file", "val\tgray\tgrayscale"]


@pytest.mark.slow
def test_worker_processes_give_the_same_records_as_inline(tmp_path):
    items = [Item(key=f"c{i:03d}", array=c) for i, c in enumerate(photo_crops(70, size=40))]
    for workers in (0, 2):
        write_dataset({"train": items}, str(tmp_path / f"w{workers}"), CONFIG, {"name": "t"},
                      images_per_shard=30, num_workers=workers, log=quiet)
    assert read_keys(str(tmp_path / "w0"), "train") == [item.key for item in items]
    assert read_keys(str(tmp_path / "w2"), "train") == [item.key for item in items]
    inline, workers = (
        np.stack([r["lab"].numpy() for r in records(str(tmp_path / d))]) for d in ("w0", "w2")
    )
    # Thread counts change float rounding: at most one 8-bit code, and rarely.
    assert np.abs(inline - workers).max() <= 1.0 and np.mean(inline != workers) < 1e-3


def test_worker_processes_start_with_tensorflow_imported_once():
    """The workers fork from a server process that imported TensorFlow (and data_prep's
    converter) once, instead of importing it each (5 s of CPU a worker)."""
    import multiprocessing

    from data_prep import pipeline

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform: spawned workers")
    with pipeline._worker_context().Pool(1) as pool:  # no initializer: what the fork brings
        assert pool.apply(eval, ("[m in __import__('sys').modules for m in ('tensorflow', 'data_prep.convert')]",)) \
            == [True, True]


@pytest.mark.slow
def test_default_workers_start_only_when_the_work_repays_them(tmp_path, monkeypatch):
    """--num_workers unset: a small job is converted inline (no process started); a job that
    would take longer inline than POOL_WORTH_S goes to the pool after the probe, in order."""
    from data_prep import pipeline

    items = [Item(key=f"c{i:03d}", array=c) for i, c in enumerate(photo_crops(70, size=40))]
    started = []
    real = pipeline.multiprocessing.get_context
    monkeypatch.setattr(pipeline.multiprocessing, "get_context", lambda method: started.append(method) or real(method))
    write_dataset({"train": items}, str(tmp_path / "small"), CONFIG, {"name": "t"}, images_per_shard=30, log=quiet)
    assert started == []
    monkeypatch.setattr(pipeline, "POOL_WORTH_S", 0.0)
    write_dataset({"train": items}, str(tmp_path / "big"), CONFIG, {"name": "t"}, images_per_shard=30, log=quiet)
    assert started == ["forkserver"]
    assert read_keys(str(tmp_path / "big"), "train") == read_keys(str(tmp_path / "small"), "train") == \
        [item.key for item in items]


def test_rerun_with_other_inputs_is_refused_unless_overwrite(tmp_path):
    crops = photo_crops(4, size=40)
    out = str(tmp_path / "out")
    write_dataset({"train": [Item("a", array=crops[0])]}, out, CONFIG, {"name": "t"}, num_workers=0, log=quiet)
    other = {"train": [Item("b", array=crops[1])]}
    with pytest.raises(ValueError, match="--overwrite"):
        write_dataset(other, out, CONFIG, {"name": "t"}, num_workers=0, log=quiet)
    write_dataset(other, out, CONFIG, {"name": "t"}, num_workers=0, overwrite=True, log=quiet)
    assert read_keys(out, "train") == ["b"]


@pytest.mark.slow
def test_kill_9_then_rerun_writes_every_good_image_exactly_once(tmp_path):
    images = tmp_path / "images"
    crops = photo_crops(150, size=160)
    for i, crop in enumerate(crops):
        save(str(images / f"{i // 50}" / f"img{i:03d}.jpg"), crop, quality=90)
    (images / "0" / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    args = [
        "-m", "data_prep.folder", f"--images={images}", f"--output_dir={out}",
        "--image_size=64", "--images_per_shard=5", "--num_workers=0", "--val_fraction=0.2",
    ]
    kill_after_shards(args, out)
    keys = read_keys(str(out), "train") + read_keys(str(out), "val")
    assert len(keys) == len(set(keys)) == 150
    assert set(keys) == {f"{i // 50}/img{i:03d}.jpg" for i in range(150)}
    manifest = read_manifest(str(out))
    assert manifest["skipped"] == {"not_an_image": 1}
    assert manifest["records"] == {"train": 120, "val": 30}
    assert not list(out.glob("*.tmp"))
