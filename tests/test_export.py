"""SavedModel export: signatures, parity with the Keras generator, full-resolution output with
the input's own L, bad bytes, pixel limit."""

import io
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import photo, png_bytes, run_script
from tfcolor import models
from tfcolor.core import color
from tfcolor.deploy import inference, serving


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet_small", image_size=32, base_filters=8)
    path = str(tmp_path_factory.mktemp("sm") / "colorizer" / "1")
    serving.export_saved_model(generator, 32, path, max_pixels=2_000_000)
    return generator, path, tf.saved_model.load(path)


@pytest.mark.slow
def test_saved_model_cli_lists_the_signatures(exported):
    _, path, _ = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")  # (forked: TensorFlow imported once)
    result = run_script(cli, "show", "--dir", path, "--all")
    for name in ("serving_default", "colorize_uint8", "colorize_float", "propagate_hints"):
        assert f"signature_def['{name}']" in result.stdout
    assert "DT_STRING" in result.stdout and "DT_UINT8" in result.stdout


def test_exported_output_equals_the_keras_generator(exported):
    generator, _, loaded = exported
    rgb = photo("coffee")[100:132, 200:232].astype(np.float32)[None] / 255.0  # model size: no resizing
    got = loaded.signatures["colorize_float"](images=tf.constant(rgb))["rgb"].numpy()
    lab = color.rgb_to_lab(rgb)
    ab = generator(color.normalize_l(lab[..., :1]), training=False)
    expected = color.lab_to_rgb(tf.concat([lab[..., :1], color.denormalize_ab(ab)], -1)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.slow
def test_a_pretrained_encoder_generator_exports_like_the_others(tmp_path):
    keras.utils.set_random_seed(0)
    generator = models.build_generator("encoder_unet", image_size=32, base_filters=8, encoder="mobilenet_v2")
    path = str(tmp_path / "colorizer" / "1")
    serving.export_saved_model(generator, 32, path)
    rgb = photo("astronaut")[50:82, 200:232].astype(np.float32)[None] / 255.0
    got = tf.saved_model.load(path).signatures["colorize_float"](images=tf.constant(rgb))["rgb"].numpy()
    lab = color.rgb_to_lab(rgb)
    ab = generator(color.normalize_l(lab[..., :1]), training=False)
    expected = color.lab_to_rgb(tf.concat([lab[..., :1], color.denormalize_ab(ab)], -1)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_odd_sized_photo_comes_back_at_its_size_with_its_own_l(exported):
    _, _, loaded = exported
    original = np.asarray(Image.fromarray(photo("chelsea")).resize((1001, 667), Image.BICUBIC))
    out = loaded.signatures["serving_default"](images_bytes=tf.constant([png_bytes(original)]))["colorized_bytes"]
    result = np.asarray(Image.open(io.BytesIO(out.numpy()[0])))
    assert result.shape == (667, 1001, 3)
    l_in = color.rgb_to_lab(original).numpy()[..., 0]
    l_out = color.rgb_to_lab(result).numpy()[..., 0]
    diff = np.abs(l_in - l_out)
    # 8-bit rounding and gamut clipping of the new colours move L a little, never the detail.
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 5.0


def test_uint8_gray_and_rgba_inputs(exported):
    _, _, loaded = exported
    gray = np.asarray(Image.fromarray(photo("coffee")).convert("L"))[:48, :40, None]
    out = loaded.signatures["colorize_uint8"](images=tf.constant(gray[None]))["rgb"].numpy()
    assert out.shape == (1, 48, 40, 3) and out.dtype == np.uint8
    rgba = np.dstack([photo("coffee")[:48, :40], np.full((48, 40), 255, np.uint8)])
    out_rgba = loaded.signatures["colorize_uint8"](images=tf.constant(rgba[None]))["rgb"].numpy()
    assert out_rgba.shape == (1, 48, 40, 3)


@pytest.mark.parametrize("data", [b"", b"this is not an image", "truncated"])
def test_bad_bytes_raise_invalid_argument(exported, data):
    _, _, loaded = exported
    if data == "truncated":
        full = io.BytesIO()
        Image.fromarray(photo("coffee")).save(full, "JPEG")
        data = full.getvalue()[: len(full.getvalue()) // 3]
    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.signatures["serving_default"](images_bytes=tf.constant([data]))


def test_pixel_limit_refuses_or_downscales():
    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet_small", image_size=32, base_filters=8)
    data = tf.constant(png_bytes(photo("coffee")))  # 600x400 = 240,000 pixels
    with pytest.raises(tf.errors.InvalidArgumentError, match="more than 100000 pixels"):
        inference.colorize_encoded(generator, data, 32, max_pixels=100_000, policy="refuse")
    out = inference.colorize_encoded(generator, data, 32, max_pixels=60_000, policy="downscale")
    height, width = Image.open(io.BytesIO(out.numpy())).size[::-1]
    assert height * width <= 60_000 and abs(width / height - 1.5) < 0.02
