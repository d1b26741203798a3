"""tfcolor.core.data.make_dataset on records written by data_prep's writer."""

import numpy as np
import pytest
import tensorflow as tf

from data_prep.convert import PrepConfig
from data_prep.decode import Item
from data_prep.pipeline import write_dataset
from tests.conftest import photo_crops, read_keys
from tfcolor.core import color, data, schema


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """17 real-photo crops (48 px) written into 3 shards, as in Model Garden's tfrecord_lib test."""
    directory = str(tmp_path_factory.mktemp("ds17"))
    items = [Item(key=f"crop{i:02d}", array=crop) for i, crop in enumerate(photo_crops(17, size=48))]
    manifest = write_dataset(
        {"train": items}, directory, PrepConfig(image_size=32, store_size=48, min_size=8),
        source={"name": "test"}, images_per_shard=6, num_workers=0, log=lambda m: None,
    )
    assert manifest["splits"]["train"]["shards"] == 3
    return directory


def pattern(directory):
    return schema.shard_pattern(directory, "train")


def test_17_records_in_3_shards_read_back_as_the_same_set(dataset_dir):
    assert len(tf.io.gfile.glob(pattern(dataset_dir))) == 3
    ds = data.make_dataset(pattern(dataset_dir), batch_size=5, training=False, with_keys=True)
    keys = [k.decode() for _, _, batch_keys in ds for k in batch_keys.numpy()]
    assert sorted(keys) == [f"crop{i:02d}" for i in range(17)]


def test_eval_batches_hold_the_stored_colours(dataset_dir):
    crops = {f"crop{i:02d}": c for i, c in enumerate(photo_crops(17, size=48))}
    ds = data.make_dataset(pattern(dataset_dir), batch_size=17, training=False, with_keys=True)
    l_norm, ab_norm, keys = next(iter(ds))
    assert l_norm.shape == (17, 48, 48, 1) and ab_norm.shape == (17, 48, 48, 2)
    assert -1.0 <= float(tf.reduce_min(l_norm)) and float(tf.reduce_max(l_norm)) <= 1.0
    assert float(tf.reduce_max(tf.abs(ab_norm))) <= 1.0
    rgb = color.normalized_lab_to_rgb(l_norm, ab_norm).numpy()
    for i, key in enumerate(keys.numpy()):
        # Stored at the crop's own size, so only the 8-bit Lab rounding differs.
        assert np.abs(rgb[i] * 255 - crops[key.decode()]).mean() < 1.0


def test_training_batches_are_cropped_jittered_and_repeat(dataset_dir):
    ds = data.make_dataset(
        pattern(dataset_dir), batch_size=8, training=True, image_size=32, jitter_size=40, seed=3
    )
    batches = list(ds.take(4))  # 32 > 17 records: the training set repeats
    assert all(b[0].shape == (8, 32, 32, 1) and b[1].shape == (8, 32, 32, 2) for b in batches)


def test_deterministic_training_pipeline_repeats_exactly(dataset_dir):
    def first_batches(seed):
        ds = data.make_dataset(
            pattern(dataset_dir), batch_size=4, training=True, image_size=32,
            jitter_size=40, seed=seed, deterministic=True,
        )
        return [b[1].numpy() for b in ds.take(3)]

    a, b, c = first_batches(7), first_batches(7), first_batches(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c))


def test_augment_is_the_same_eagerly_and_in_tf_data(astronaut):
    lab = color.rgb_to_lab(astronaut[:64, :64])
    seed = tf.constant([5, 9], tf.int64)
    eager = data.augment(lab, 48, seed, jitter_size=56).numpy()
    mapped = tf.data.Dataset.from_tensors((lab, seed)).map(
        lambda x, s: data.augment(x, 48, s, jitter_size=56)
    )
    np.testing.assert_allclose(next(iter(mapped)).numpy(), eager, atol=1e-5)
    # It is a crop of the resized image, possibly flipped.
    resized = tf.image.resize(lab, [56, 56]).numpy()
    windows = [
        resized[t : t + 48, l : l + 48][:, ::f]
        for t in range(9) for l in range(9) for f in (1, -1)
    ]
    assert min(np.abs(w - eager).max() for w in windows) < 1e-4


@pytest.mark.parametrize("pipelines", [2, 4])  # by file (3 shards >= 2), by record (3 < 4)
def test_input_context_splits_records_between_pipelines(dataset_dir, pipelines):
    keys = []
    for pipeline_id in range(pipelines):
        context = tf.distribute.InputContext(
            num_input_pipelines=pipelines, input_pipeline_id=pipeline_id, num_replicas_in_sync=2
        )
        ds = data.make_dataset(
            pattern(dataset_dir), batch_size=4, training=False, input_context=context, with_keys=True
        )
        batches = list(ds)
        assert all(b[0].shape[0] <= 2 for b in batches)  # per-replica batch = 4 / 2
        keys.append({k.decode() for b in batches for k in b[2].numpy()})
    assert sum(len(k) for k in keys) == 17
    assert set().union(*keys) == set(read_keys(dataset_dir, "train"))


def test_missing_files_give_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no TFRecord files match"):
        data.make_dataset(str(tmp_path / "train-*.tfrecord"), 4, training=True)
