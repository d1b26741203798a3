"""The colorize command and its library: every model kind, every input kind and mode,
full resolution, transparency, side-by-side, skipped files and the exit status."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.conftest import photo, run_module
from tfcolor.core import color, rundir, shipped
from tfcolor.deploy import serving
from tfcolor.deploy.colorizer import collect_inputs, load_colorizer, output_names, read_photo


@pytest.fixture(scope="module")
def model_files(trained_model_files):
    return {"run": trained_model_files["run"], "saved_model": trained_model_files["saved_model"],
            "tflite": trained_model_files["fp32"]}


@pytest.mark.slow
def test_every_model_kind_gives_the_same_colours(model_files):
    original = photo("chelsea")[:151, :203]
    results = {}
    for kind, path in model_files.items():
        colorize, _ = load_colorizer(path)
        results[kind] = colorize(original).astype(int)
        assert results[kind].shape == original.shape
    assert np.abs(results["run"] - results["saved_model"]).max() <= 1
    assert np.abs(results["run"] - results["tflite"]).max() <= 1
    # Colour came from the network: the result is not gray, and L is the input's.
    lab = color.rgb_to_lab(results["run"].astype(np.uint8)).numpy()
    assert np.abs(lab[..., 1:]).mean() > 2.0
    assert np.abs(lab[..., 0] - color.rgb_to_lab(original).numpy()[..., 0]).mean() < 1.0


def test_load_colorizer_explains_a_wrong_path(tmp_path):
    with pytest.raises(ValueError, match="no generator.keras, saved_model.pb"):
        load_colorizer(str(tmp_path))


def test_inputs_from_files_globs_and_folders(tmp_path):
    for rel in ("a/x.jpg", "a/sub/y.png", "a/notes.txt", "b/x.jpg", "c.bmp"):
        os.makedirs(tmp_path / os.path.dirname(rel), exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found, missing = collect_inputs([str(tmp_path / "a"), str(tmp_path / "b" / "*.jpg"),
                                     str(tmp_path / "c.bmp"), str(tmp_path / "a" / "x.jpg"),
                                     str(tmp_path / "nothing*")])
    assert [name for _, name in found] == ["sub/y.png", "x.jpg", "x.jpg", "c.bmp"]  # a/x.jpg once
    assert missing == [str(tmp_path / "nothing*")]
    assert output_names(["x.jpg", "x.png", "sub/y.png", "X.tif"]) == ["x.png", "x_2.png", "sub/y.png", "X_3.png"]


def test_read_photo_handles_modes(tmp_path):
    rgb = photo("coffee")[:40, :60]
    gray16 = (np.asarray(Image.fromarray(rgb).convert("L")).astype(np.uint16) * 257)
    rgba = np.dstack([rgb, np.tile(np.linspace(0, 255, 60).astype(np.uint8), (40, 1))])
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "p.gif")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    out16, alpha16 = read_photo(str(tmp_path / "g16.png"))
    assert out16.shape == (40, 60, 3) and alpha16 is None
    np.testing.assert_array_equal(out16[..., 0], gray16 >> 8)
    out_rgba, alpha = read_photo(str(tmp_path / "rgba.png"))
    np.testing.assert_array_equal(alpha, rgba[..., 3])
    for name in ("p.gif", "cmyk.jpg"):
        out, _ = read_photo(str(tmp_path / name))
        assert out.shape == (40, 60, 3) and np.abs(out.astype(int) - rgb).mean() < 20


@pytest.mark.slow
def test_colorize_command(model_files, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(photo("astronaut")[:101, :77]).convert("L").save(inputs / "gray.jpg")
    rgba = np.dstack([photo("coffee")[:50, :70], np.full((50, 70), 128, np.uint8)])
    Image.fromarray(rgba).save(inputs / "clear.png")
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    out = tmp_path / "out"
    result = run_module("tfcolor.colorize", f"--model={model_files['saved_model']}", f"--input={inputs}",
                        f"--output_dir={out}", "--side_by_side")
    assert "2 colourised, 1 skipped" in result.stdout
    assert "broken.jpg" in result.stderr
    gray_out = Image.open(out / "gray.png")
    assert gray_out.size == (77, 101) and gray_out.mode == "RGB"
    clear_out = np.asarray(Image.open(out / "clear.png"))
    assert clear_out.shape == (50, 70, 4) and (clear_out[..., 3] == 128).all()
    assert Image.open(out / "gray_side_by_side.png").size == (154, 101)


@pytest.mark.slow
def test_colorize_command_fails_only_when_nothing_was_colourised(model_files, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"nope")
    result = run_module("tfcolor.colorize", f"--model={model_files['tflite']}", f"--input={tmp_path / 'bad.png'}",
                        f"--output_dir={tmp_path / 'out'}", check=False)
    assert result.returncode == 1
    assert "0 colourised, 1 skipped" in result.stdout


@pytest.mark.slow
def test_render_size_changes_what_the_network_sees_and_nothing_else(trained_generator, tmp_path):
    from tfcolor.deploy.inference import gray_rgb

    trained_generator.save(tmp_path / "generator.keras")  # trained at 32 px, 4 levels: multiples of 16
    gray = gray_rgb(photo("chelsea")).numpy()  # 300x451
    default, _ = load_colorizer(str(tmp_path))
    at_64, _ = load_colorizer(str(tmp_path), render_size=64)
    assert serving.load_generator(str(tmp_path), render_size=64)[0].input_shape == (None, 64, 64, 1)
    base, big = default(gray), at_64(gray)
    assert big.shape == base.shape == gray.shape
    lightness = lambda rgb: color.rgb_to_lab(rgb).numpy()[..., 0]  # noqa: E731
    for out in (base, big):  # the photo's own L, up to 8-bit rounding and gamut clipping
        assert np.abs(lightness(out) - lightness(gray)).mean() < 0.5
    assert np.abs(big.astype(int) - base).mean() > 1.0  # the network saw more, the colours changed
    same, _ = load_colorizer(str(tmp_path), render_size=32)  # the training size: exactly the default
    np.testing.assert_array_equal(same(gray), base)
    with pytest.raises(ValueError, match="multiple of 2"):
        load_colorizer(str(tmp_path), render_size=40)
    # A render size in the run's config.json (as the shipped model has) is the default.
    (tmp_path / rundir.CONFIG).write_text(json.dumps({"data": {"image_size": 32}, rundir.RENDER_SIZE: 64}))
    configured, description = load_colorizer(str(tmp_path))
    assert "64 px" in description
    np.testing.assert_array_equal(configured(gray), big)
    np.testing.assert_array_equal(load_colorizer(str(tmp_path), render_size=32)[0](gray), base)
    (tmp_path / rundir.CONFIG).unlink()
    # Export at a render size: the SavedModel gives the same photo; exported models refuse one.
    run_module("tfcolor.export", f"--generator={tmp_path / 'generator.keras'}", "--render_size=64",
               f"--output_root={tmp_path / 'saved'}", "--name=c")
    exported, _ = load_colorizer(str(tmp_path / "saved" / "c"))
    assert np.abs(exported(gray).astype(int) - big).max() <= 1
    with pytest.raises(ValueError, match="exported with"):
        load_colorizer(str(tmp_path / "saved" / "c"), render_size=64)


@pytest.mark.slow
def test_chroma_gain_multiplies_the_colour_and_travels_with_the_model(trained_generator, tmp_path):
    """--chroma_gain: the network's a*b* times the gain (skimage's Lab as the reference, where the
    colours stay in the sRGB gamut), the photo's L kept; a config.json's chroma_gain is the default;
    an export carries it and exported models refuse another."""
    import skimage.color
    import tensorflow as tf

    from tfcolor.deploy import inference

    trained_generator.save(tmp_path / "generator.keras")
    gray = inference.gray_rgb(photo("chelsea")).numpy()
    plain, _ = serving.load_generator(str(tmp_path))
    louder, size = serving.load_generator(str(tmp_path), chroma_gain=1.5)
    l_norm = color.normalize_l(color.rgb_to_lab(gray[None] / 255.0)[..., :1])
    l_small = tf.image.resize(l_norm, [size, size])
    np.testing.assert_allclose(louder(l_small), 1.5 * plain(l_small).numpy(), rtol=1e-6, atol=1e-7)
    outs = [inference.colorize(g, tf.constant(gray[None] / 255.0, tf.float32), size)[0].numpy()
            for g in (plain, louder)]
    lab1, lab2 = (skimage.color.rgb2lab(np.clip(o, 0, 1)) for o in outs)
    inside = np.all([((o > 1e-3) & (o < 1 - 1e-3)).all(axis=-1) for o in outs], axis=0)  # not clipped
    assert inside.mean() > 0.5 and np.abs(lab1[inside][:, 1:]).max() > 5  # real colour, much of it in gamut
    np.testing.assert_allclose(lab2[inside][:, 1:], 1.5 * lab1[inside][:, 1:], atol=0.05)
    np.testing.assert_allclose(lab2[inside][:, 0], skimage.color.rgb2lab(gray / 255.0)[inside][:, 0], atol=0.01)
    with pytest.raises(ValueError, match="positive"):
        serving.load_generator(str(tmp_path), chroma_gain=-1.0)
    # The config's gain is the default; an explicit one replaces it.
    by_flag, _ = load_colorizer(str(tmp_path), chroma_gain=1.5)
    (tmp_path / rundir.CONFIG).write_text(json.dumps({"data": {"image_size": 32}, rundir.CHROMA_GAIN: 1.5}))
    configured, description = load_colorizer(str(tmp_path))
    assert "chroma gain 1.5" in description
    np.testing.assert_array_equal(configured(gray), by_flag(gray))
    assert np.abs(load_colorizer(str(tmp_path), chroma_gain=1.0)[0](gray).astype(int) - by_flag(gray)).max() > 5
    # The export keeps it (from the config here), and refuses to change it afterwards.
    run_module("tfcolor.export", f"--model_dir={tmp_path}", f"--output_root={tmp_path / 'saved'}", "--name=c",
               "--tflite=fp32")
    for path in (tmp_path / "saved" / "c", tmp_path / "saved" / "c" / "tflite" / "1" / "fp32.tflite"):
        exported, _ = load_colorizer(str(path))
        assert np.abs(exported(gray).astype(int) - by_flag(gray)).max() <= 1
    with pytest.raises(ValueError, match="exported with"):
        load_colorizer(str(tmp_path / "saved" / "c"), chroma_gain=2.0)


def test_the_shipped_model_colours_a_photo_by_default():
    """saved_models/colorizer: a black-and-white photo of odd size comes back in colour at its
    size, its lightness that of the input (skimage's Lab as the reference)."""
    import skimage.color

    colorize, description = load_colorizer(shipped.default_model())
    assert shipped.NAME in description
    original = photo("coffee")[37:270, 11:168]  # 233 x 157
    gray = np.repeat(np.round(skimage.color.rgb2gray(original) * 255).astype(np.uint8)[..., None], 3, axis=-1)
    result = colorize(gray)
    assert result.shape == gray.shape and result.dtype == np.uint8
    lab_in, lab_out = skimage.color.rgb2lab(gray), skimage.color.rgb2lab(result)
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).mean() < 1.0
    assert np.hypot(lab_out[..., 1], lab_out[..., 2]).mean() > 5.0  # gray in: chroma 0


def test_without_the_shipped_model_colorize_says_to_pass_one(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "REPO", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="--model="):
        shipped.default_model()


@pytest.mark.slow
def test_colorize_command_takes_photos_as_arguments_and_the_shipped_model(tmp_path):
    Image.fromarray(photo("chelsea")[:120, :90]).convert("L").save(tmp_path / "cat.jpg")
    result = run_module("tfcolor.colorize", str(tmp_path / "cat.jpg"), f"--output_dir={tmp_path / 'out'}")
    assert f"{shipped.MODELS_ROOT}/{shipped.NAME}" in result.stdout
    out = np.asarray(Image.open(tmp_path / "out" / "cat.png"))
    assert out.shape == (120, 90, 3) and np.ptp(out.astype(int).mean(axis=(0, 1))) > 2  # not gray
