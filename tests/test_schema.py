"""The Lab record schema: encoding error, record size, parsing eagerly and in tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import photo
from tfcolor.core import color, schema


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_stored_lab_mean_delta_e_is_below_half_a_unit(name):
    lab = color.rgb_to_lab(photo(name))
    stored = schema.decode_lab(schema.encode_lab(lab))
    delta_e = tf.norm(stored - lab, axis=-1).numpy()
    assert delta_e.mean() <= 0.5
    # Rounding error bound: half a step in each channel.
    assert delta_e.max() <= np.sqrt((100 / 255 / 2) ** 2 + 0.5**2 + 0.5**2) + 1e-4


def test_encoding_is_opencv_8bit_lab():
    lab = tf.constant([[[0.0, -128.0, 127.0], [100.0, 0.0, 0.0], [50.0, 10.4, -10.6]]])
    np.testing.assert_array_equal(
        schema.encode_lab(lab).numpy(), [[[0, 0, 255], [255, 128, 128], [128, 138, 117]]]
    )


def test_record_of_256px_is_under_200kb_and_round_trips():
    rgb = photo("astronaut")[:256, :256]
    lab_u8 = schema.encode_lab(color.rgb_to_lab(rgb)).numpy()
    record = schema.serialize_example("astronaut/0", lab_u8, (512, 512))
    assert len(record) <= 200_000
    parsed = schema.parse_example(record)
    assert parsed["key"].numpy() == b"astronaut/0"
    assert (int(parsed["source_height"]), int(parsed["source_width"])) == (512, 512)
    np.testing.assert_allclose(parsed["lab"].numpy(), schema.decode_lab(lab_u8).numpy())


def test_parse_inside_tf_data_equals_eager():
    records = [
        schema.serialize_example(f"k{i}", schema.encode_lab(color.rgb_to_lab(crop)).numpy(), (32, 48))
        for i, crop in enumerate([photo("coffee")[:32, :48], photo("chelsea")[:32, :48]])
    ]
    eager = [schema.parse_example(r)["lab"].numpy() for r in records]
    mapped = tf.data.Dataset.from_tensor_slices(records).map(lambda r: schema.parse_example(r)["lab"])
    for a, b in zip(eager, mapped):
        assert b.shape == (32, 48, 3)
        np.testing.assert_array_equal(a, b.numpy())


def test_other_schema_version_is_refused():
    example = tf.train.Example()
    example.ParseFromString(schema.serialize_example("k", np.zeros((2, 2, 3), np.uint8), (2, 2)))
    example.features.feature["schema_version"].int64_list.value[0] = 99
    with pytest.raises(tf.errors.InvalidArgumentError, match="schema_version"):
        schema.parse_example(example.SerializeToString())


def test_shard_names():
    assert schema.shard_name("train", 3, 10) == "train-00003-of-00010.tfrecord"


def test_the_writer_fills_exactly_the_fields_the_reader_parses():
    record = schema.serialize_example("k", np.zeros((2, 3, 3), np.uint8), (20, 30))
    example = tf.train.Example.FromString(record)
    written = {name: feature.WhichOneof("kind") for name, feature in example.features.feature.items()}
    assert written == {name: f"{kind}_list" for name, kind in schema.FIELDS.items()}
    parsed = schema.parse_example(record)
    assert set(schema.FIELDS) - {"schema_version"} <= set(parsed) and int(parsed["source_width"]) == 30


def test_importing_the_schema_does_not_import_tensorflow():
    """data_prep's --help and planning read the schema's names; TensorFlow loads on first use."""
    import subprocess
    import sys

    code = "import sys, tfcolor.core.schema as s; s.shard_name('train', 0, 1); print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr[-2000:]
