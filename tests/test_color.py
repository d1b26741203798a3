"""tfcolor.core.color against scikit-image, in eager mode, in tf.data and through TFLite."""

import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor

from tfcolor.core import color

CORNERS = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], np.float64)


@pytest.fixture(scope="module")
def random_rgb():
    rng = np.random.default_rng(42)
    return np.concatenate([rng.random((100_000, 3)), CORNERS])


def test_rgb_to_lab_matches_skimage(random_rgb):
    expected = skcolor.rgb2lab(random_rgb[None])[0]
    got = color.rgb_to_lab(random_rgb.astype(np.float32)).numpy()
    assert np.abs(got - expected).max() < 1e-3


def test_corners_have_textbook_values():
    lab = color.rgb_to_lab(CORNERS.astype(np.float32)).numpy()
    np.testing.assert_allclose(lab[0], [0, 0, 0], atol=1e-4)  # black
    # White maps to the D65 white up to the 6-digit matrix rounding (as in skimage).
    np.testing.assert_allclose(lab[7], [100, 0, 0], atol=1e-2)
    np.testing.assert_allclose(lab[4], [53.24, 80.09, 67.20], atol=0.02)  # sRGB red


def test_lab_to_rgb_matches_skimage_in_gamut(random_rgb):
    lab = skcolor.rgb2lab(random_rgb[None])[0]
    expected = skcolor.lab2rgb(lab[None])[0]
    got = color.lab_to_rgb(lab.astype(np.float32)).numpy()
    assert np.abs(got - expected).max() < 1e-3


def test_lab_to_rgb_matches_skimage_out_of_gamut_and_clips():
    rng = np.random.default_rng(1)
    lab = np.stack(
        [rng.uniform(0, 100, 100_000), rng.uniform(-128, 127, 100_000), rng.uniform(-128, 127, 100_000)], -1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about negative Z values
        expected = skcolor.lab2rgb(lab[None])[0]
    got = color.lab_to_rgb(lab.astype(np.float32)).numpy()
    assert np.all(np.isfinite(got)) and got.min() >= 0.0 and got.max() <= 1.0
    assert np.abs(got - expected).max() < 1e-3


def test_round_trip(random_rgb):
    rgb = random_rgb.astype(np.float32)
    back = color.lab_to_rgb(color.rgb_to_lab(rgb)).numpy()
    assert np.abs(back - rgb).max() < 1e-4


def test_uint8_table_path_equals_float_path():
    values = np.stack(np.meshgrid(np.arange(256), np.arange(0, 256, 5), np.arange(0, 256, 3)), -1)
    values = values.reshape(-1, 3).astype(np.uint8)
    fast = color.rgb_to_lab(values).numpy()
    slow = color.rgb_to_lab(values.astype(np.float32) / 255.0).numpy()
    assert np.abs(fast - slow).max() < 5e-4  # float32 pow vs a float64 table
    assert np.abs(fast - skcolor.rgb2lab(values[None])[0]).max() < 1e-3


def test_any_leading_shape(astronaut):
    batch = np.stack([astronaut[:64, :48], astronaut[64:128, :48]])[None]  # [1, 2, 64, 48, 3]
    lab = color.rgb_to_lab(batch)
    assert lab.shape == (1, 2, 64, 48, 3)
    np.testing.assert_allclose(lab.numpy()[0, 1], skcolor.rgb2lab(batch[0, 1]), atol=1e-3)


@pytest.mark.parametrize("point", [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.02, 0.5, 0.0], [0.04045, 0.0031308, 1.0]])
def test_rgb_to_lab_gradients_are_finite(point):
    x = tf.Variable([point])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(color.rgb_to_lab(x))
    grad = tape.gradient(y, x).numpy()
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("lab", [[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [50.0, 127.0, -128.0], [0.0, -128.0, 127.0]])
def test_lab_to_rgb_gradients_are_finite(lab):
    x = tf.Variable([lab])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(color.lab_to_rgb(x))
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))


def test_same_result_eagerly_and_inside_tf_data(astronaut):
    crops = np.stack([astronaut[:32, :32], astronaut[100:132, 200:232]])
    eager = color.rgb_to_lab(crops).numpy()
    ds = tf.data.Dataset.from_tensor_slices(crops).map(color.rgb_to_lab).batch(2)
    in_data = next(iter(ds)).numpy()
    np.testing.assert_allclose(in_data, eager, atol=1e-5)


def test_normalisation_ranges_and_inverse():
    lab = tf.constant([[0.0, -110.0, 110.0], [100.0, 0.0, -55.0]])
    l_norm, ab_norm = color.split_lab(lab)
    np.testing.assert_allclose(l_norm.numpy()[:, 0], [-1.0, 1.0])
    np.testing.assert_allclose(ab_norm.numpy(), [[-1.0, 1.0], [0.0, -0.5]])
    np.testing.assert_allclose(color.join_lab(l_norm, ab_norm).numpy(), lab.numpy(), atol=1e-5)


def test_converts_to_tflite_with_builtin_ops_only(tmp_path, astronaut):
    from ai_edge_litert.interpreter import Interpreter

    class Roundtrip(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.uint8)])
        def __call__(self, rgb):
            lab = color.rgb_to_lab(rgb)
            return {"lab": lab, "rgb": color.lab_to_rgb(lab)}

    module = Roundtrip()
    saved = os.path.join(tmp_path, "sm")
    tf.saved_model.save(module, saved, signatures=module.__call__)
    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    runner = interpreter.get_signature_runner()
    crop = astronaut[None, 200:232, 200:232]
    out = runner(rgb=crop)
    np.testing.assert_allclose(out["lab"][0], skcolor.rgb2lab(crop[0]), atol=1e-3)
    np.testing.assert_allclose(out["rgb"][0], crop[0] / 255.0, atol=1e-4)
