"""Colouring without TensorFlow (tfcolor.deploy.quick, tfcolor.core.colornp): the numpy Lab math
and resizes against TensorFlow's, the quick colouriser's photos against the TensorFlow path's,
and a whole colorize command on the shipped model that never imports TensorFlow, hints included."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests import launcher
from tests.conftest import REPO, photo
from tfcolor.core import color, colornp
from tfcolor.deploy import inference, lite, quick


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def test_numpy_lab_and_resizes_match_tensorflow():
    rgb = photo("coffee")[:97, :141]
    np.testing.assert_allclose(colornp.lightness(rgb), color.rgb_to_lab(rgb).numpy()[..., :1], atol=2e-3)
    lab = color.rgb_to_lab(photo("chelsea")[:50, :70]).numpy() + np.array([0.0, 9.0, -14.0], np.float32)
    lab[0, 0] = [50.0, 120.0, -130.0]  # out of gamut: clipped alike
    expected = inference.to_uint8(color.lab_to_rgb(lab)).numpy().astype(int)
    assert np.abs(colornp.lab_to_rgb_uint8(lab).astype(int) - expected).max() <= 1
    small = np.random.default_rng(0).normal(size=(96, 96, 2)).astype(np.float32)
    for height, width in ((1024, 683), (97, 141), (96, 96), (40, 300)):
        np.testing.assert_allclose(colornp.resize_bilinear(small, height, width),
                                   tf.image.resize(small, (height, width), method="bilinear").numpy(), atol=1e-4)
    for values in (rgb, rgb.astype(np.float32) / 255.0):
        np.testing.assert_allclose(colornp.rgb_to_lab(values), color.rgb_to_lab(values).numpy(), atol=3e-3)
    for height, width in ((48, 70), (97, 141), (30, 33), (10, 141)):  # shrinking (area), one side kept
        np.testing.assert_allclose(colornp.resize_area(rgb.astype(np.float32), height, width),
                                   tf.image.resize(rgb.astype(np.float32), (height, width), method="area").numpy(),
                                   atol=2e-3)
    l_full = colornp.lightness(rgb)
    for size in (32, 96, 128):  # smaller than the photo, and larger on one side
        np.testing.assert_allclose(colornp.shrink(l_full, size), inference.shrink(l_full[None], size)[0].numpy(),
                                   atol=1e-3)


def test_the_quick_colouriser_gives_the_tensorflow_paths_colours(trained_generator, tmp_path):
    path = tmp_path / "network.tflite"
    path.write_bytes(lite.convert_network(trained_generator, 32, "fp32"))
    colorize = quick.QuickColorizer(str(path))
    assert colorize.size == 32
    for name, crop in (("astronaut", np.s_[:300, :211]), ("coffee", np.s_[7:, :]), ("rocket", np.s_[:33, :500])):
        rgb = photo(name)[crop]
        expected = inference.to_uint8(inference.colorize(trained_generator, inference.to_float_rgb(rgb[None]), 32))
        got = colorize(rgb)
        assert got.shape == rgb.shape and psnr(got, expected[0].numpy()) >= 40, name
        assert np.abs(got.astype(int) - expected[0].numpy()).max() <= 2


def test_a_changed_model_is_converted_again(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "generator.keras").write_bytes(b"one")
    first = quick.model_key(str(run))
    (run / "config.json").write_text("{}")
    assert quick.model_key(str(run)) != first
    monkeypatch.setenv(quick.CACHE_ENV, str(tmp_path / "cache"))
    assert quick.cache_dir() == str(tmp_path / "cache")


def test_an_unwritable_cache_falls_back_to_the_tensorflow_path(tmp_path, monkeypatch):
    from tfcolor.core import shipped
    from tfcolor.deploy.colorizer import load_colorizer

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv(quick.CACHE_ENV, str(tmp_path / "file" / "cache"))  # cannot be created
    colorize, description = load_colorizer(shipped.model_dir())
    assert "LiteRT" not in description and colorize(photo("coffee")[:40, :60]).shape == (40, 60, 3)


NO_TENSORFLOW = """
import sys
from tfcolor import colorize
sys.argv = ["colorize", %r, "--output_dir=%s"]
try:
    colorize.run()
except SystemExit as e:
    assert e.code in (0, None), e.code
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
print("no TensorFlow")
"""


@pytest.mark.slow
def test_the_shipped_model_colours_a_photo_without_tensorflow(tmp_path):
    """tfcolor-colorize photo.jpg: the shipped model's network (converted once per machine) on
    LiteRT, numpy for the rest; no TensorFlow import, and the TensorFlow path's colours."""
    from tfcolor.core import shipped
    from tfcolor.deploy.serving import load_generator
    from tests.conftest import save

    quick.network_file(shipped.model_dir())  # the first run's conversions (cached for the tests)
    quick.refiner_file(shipped.model_dir())
    rgb = photo("chelsea")
    save(str(tmp_path / "cat.png"), rgb)
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW % (str(tmp_path / "cat.png"), tmp_path / "out")],
                            cwd=REPO, env=launcher.command_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "no TensorFlow" in result.stdout, result.stderr[-2000:]
    from PIL import Image

    (tmp_path / "cat.json").write_text('{"points": [{"x": 200, "y": 150, "color": "#2060c0"}]}')
    hinted = subprocess.run([sys.executable, "-c", NO_TENSORFLOW.replace('"--output_dir=%s"]', '"--output_dir=%s", '
                                                                         '"--hints=%s"]')
                             % (str(tmp_path / "cat.png"), tmp_path / "hinted", tmp_path / "cat.json")],
                            cwd=REPO, env=launcher.command_env(), capture_output=True, text=True, timeout=120)
    assert hinted.returncode == 0 and "no TensorFlow" in hinted.stdout, hinted.stderr[-2000:]
    got = np.asarray(Image.open(tmp_path / "out" / "cat.png"))
    generator, size = load_generator(shipped.model_dir())
    expected = inference.to_uint8(inference.colorize(generator, inference.to_float_rgb(rgb[None]), size))[0].numpy()
    assert psnr(got, expected) >= 40
    # With the hint: Levin's solve (and the model's hint refiner on LiteRT, when it has one), as
    # the TensorFlow path (its own render size asked for: no quick path) runs them.
    from tfcolor.core import hints as H
    from tfcolor.deploy.colorizer import load_colorizer

    tensorflow_path, description = load_colorizer(shipped.model_dir(), render_size=size)
    assert "LiteRT" not in description
    want = tensorflow_path.hinted(rgb, H.load_hints(str(tmp_path / "cat.json")))
    assert psnr(np.asarray(Image.open(tmp_path / "hinted" / "cat.png").convert("RGB")), want) >= 40
