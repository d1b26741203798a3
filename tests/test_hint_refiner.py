"""The learned refinement of Levin's propagation (tfcolor.models.hint_refiner): its input layout,
and the front ends that run it (Python's Keras and LiteRT paths, the TFLite file's graph, whose
colorize_points the SavedModel's propagate_hints shares) giving `colorize --hints` the same
pixels; a model without it keeps Levin's propagation alone."""

import os

import numpy as np
import pytest

from tests.conftest import perturb_refiner, photo, session_folder
from tfcolor.core import hints as H, rundir
from tfcolor.deploy import hinting
from tfcolor.models import hint_refiner


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def test_the_refiners_square_is_the_solves_size_and_its_layout():
    assert hint_refiner.SIZE == hinting.PROPAGATION_SIZE
    gray = np.full((3, 2), 0.5)
    levin_ab = np.stack([np.full((3, 2), 0.1), np.full((3, 2), -0.2)], -1)
    hint_ab = np.zeros((3, 2, 2))
    hint_ab[1, 0] = [0.3, 0.4]
    mask = np.zeros((3, 2, 1))
    mask[1, 0] = 1
    x = hint_refiner.square_input(gray, levin_ab, hint_ab, mask)
    assert x.shape == (hint_refiner.SIZE, hint_refiner.SIZE, hint_refiner.CHANNELS) and x.dtype == np.float32
    np.testing.assert_allclose(x[1, 0], [0.5, 0.1, -0.2, 0.3, 0.4, 1.0])
    np.testing.assert_allclose(x[0, 1], [0.5, 0.1, -0.2, 0.0, 0.0, 0.0])
    assert not x[3:].any() and not x[:, 2:].any()  # zeros outside the working size


def test_scale_correction_scales_what_the_refiner_adds_to_levin():
    import keras

    keras.utils.set_random_seed(1)
    model = hint_refiner.build((4, 8))
    perturb_refiner(model)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, hint_refiner.CHANNELS)).astype(np.float32)
    full = model(x).numpy() - x[..., 1:3]
    hint_refiner.scale_correction(model, 0.5)
    np.testing.assert_allclose(model(x).numpy() - x[..., 1:3], 0.5 * full, atol=1e-6)
    assert np.abs(full).mean() > 0.01


@pytest.fixture(scope="session")
def refined_files(tmp_path_factory, trained_generator):
    """``trained_generator`` with a (perturbed) hint refiner beside it: the run folder and its
    fp32 .tflite file exported with the refiner. (Its SavedModel's propagate_hints runs the same
    colorize_points graph: checked once, 57.6 dB from `colorize --hints`, not on every CI run.)"""
    def make(folder):
        import keras

        from tfcolor.deploy import lite, serving

        (folder / "run").mkdir()
        trained_generator.save(folder / "run" / rundir.GENERATOR)
        keras.utils.set_random_seed(0)
        refiner = hint_refiner.build((4, 8, 16))
        perturb_refiner(refiner)
        refiner.save(folder / "run" / rundir.HINT_REFINER)
        (folder / "fp32.tflite").write_bytes(lite.convert(trained_generator, 32, "fp32", refiner=refiner))

    folder = session_folder(tmp_path_factory, "refined_files", make)
    return {"run": str(folder / "run"), "fp32": str(folder / "fp32.tflite")}


def _photo_and_hints(count=5):
    rgb = photo("coffee")[:300, :200]
    return rgb, H.Hints(tuple(H.protocol_points(H.lab_of_rgb(rgb)[..., 1:], count, np.random.default_rng(count))))


def test_colorize_hints_of_a_model_with_a_refiner_refines_levin(refined_files, tmp_path):
    """The Keras path: Levin's solve (numpy), then the refiner on its square; the refined colours
    are not Levin's; a reference photo keeps Levin's pull towards its colours, unrefined."""
    from tfcolor.deploy.colorizer import load_colorizer

    colorize, _ = load_colorizer(refined_files["run"])
    assert colorize.refines_hints
    rgb, hints = _photo_and_hints()
    got = colorize.hinted(rgb, hints)
    refiner = hint_refiner.load(os.path.join(refined_files["run"], rundir.HINT_REFINER))
    want = hinting.propagate(rgb, hints, refine=lambda x: refiner(x).numpy())
    assert psnr(got, want) >= 50
    levin = hinting.propagate(rgb, hints)
    assert psnr(got, levin) < 40  # the refiner's correction shows
    from PIL import Image

    path = str(tmp_path / "reference.png")
    Image.fromarray(photo("chelsea")[:64, :64]).save(path)
    with_reference = H.Hints(hints.points, reference=path)
    np.testing.assert_array_equal(colorize.hinted(rgb, with_reference), hinting.hinted(colorize, with_reference, rgb))


def test_a_model_without_a_refiner_keeps_levins_propagation(trained_model_files):
    from tfcolor.deploy.colorizer import load_colorizer

    colorize, _ = load_colorizer(trained_model_files["run"])
    assert not colorize.refines_hints
    rgb, hints = _photo_and_hints(3)
    np.testing.assert_array_equal(colorize.hinted(rgb, hints), hinting.propagate(rgb, hints))


def test_the_tflite_graph_refines_as_colorize_hints(refined_files):
    """The TFLite file's colorize_hints runs Levin's solve and the refiner in its graph: the pixels
    of Python's `colorize --hints`; Python loading the file runs its own ``refiner`` signature
    after its numpy solve."""
    from tfcolor.deploy import lite
    from tfcolor.deploy.colorizer import load_colorizer

    keras_path, _ = load_colorizer(refined_files["run"])
    exported, _ = load_colorizer(refined_files["fp32"])
    assert exported.refines_hints
    for count in (1, 5):
        rgb, hints = _photo_and_hints(count)
        want = keras_path.hinted(rgb, hints)
        assert psnr(exported.hinted(rgb, hints), want) >= 50
        graph = lite.colorize_with(lite.interpreter(refined_files["fp32"]), rgb, hinting.hint_rows(hints))
        assert psnr(graph, want) >= 45, (count, psnr(graph, want))


def test_the_quick_path_converts_the_refiner_once_and_runs_it_as_keras(refined_files, tmp_path, monkeypatch):
    from tfcolor.deploy import litert, quick

    monkeypatch.setenv(quick.CACHE_ENV, str(tmp_path))
    path = quick.refiner_file(refined_files["run"], log=lambda m: None)
    assert path.startswith(str(tmp_path)) and os.path.isfile(path)
    written = os.path.getmtime(path)
    assert quick.refiner_file(refined_files["run"], log=lambda m: None) == path and os.path.getmtime(path) == written
    refine = litert.refiner_of(litert.interpreter(path))
    refiner = hint_refiner.load(os.path.join(refined_files["run"], rundir.HINT_REFINER))
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (1, hint_refiner.SIZE, hint_refiner.SIZE, 6)).astype(np.float32)
    np.testing.assert_allclose(refine(x), refiner(x).numpy(), atol=1e-4)
    assert quick.refiner_file(str(tmp_path)) is None  # a folder without one
