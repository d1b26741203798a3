"""bench/quality.py's recipes: every recipe's flags, for its speed measurement (1 epoch) and for
its run, make a valid training configuration with the objective the table names."""

import json
import os
import subprocess
import sys

import pytest

from tests import launcher
from tests.conftest import REPO

PARSE_RECIPES = """
import argparse, json, sys
from absl import flags
from bench import quality
from tfcolor import train as entry
args = argparse.Namespace(image_size=64, seed=0, perceptual_weights="vgg.npz",
                          encoder_weights={"vgg16": "hed.weights.h5", "efficientnet_lite0": "lite0.weights.h5"})
out = {}
for name in quality.RECIPES:
    for epochs in (1, 5):
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["train", *quality.recipe_flags(name, args, "data", "model", epochs)])
        c = entry.config_from_flags().validate()
        out[f"{name}/{epochs}"] = [c.objective.gan, c.run.epochs, c.objective.pretrain_epochs,
                                   c.objective.colorfulness_weight, c.objective.rebalance_l1,
                                   c.optim.ema_decay, c.model.encoder, c.model.encoder_weights,
                                   c.model.freeze_encoder_epochs, c.model.hints]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_every_recipe_is_a_valid_configuration_for_calibration_and_run():
    env = launcher.command_env()
    result = subprocess.run([sys.executable, "-c", PARSE_RECIPES], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.splitlines()[-1])
    assert parsed["pix2pix/5"][:5] == ["pix2pix", 5, 0, 0.0, False]
    assert parsed["wgan_gp/5"][:3] == ["wgan_gp", 5, 0]
    # The regressions pretrain (no GAN) for every epoch, the 1-epoch speed measurement included.
    assert parsed["l1/1"][:5] == ["pix2pix", 1, 1, 0.0, False] and parsed["l1/5"][:5] == ["pix2pix", 5, 5, 0.0, False]
    assert parsed["l1_colorful/5"][:5] == ["pix2pix", 5, 5, 10.0, False]
    assert parsed["pix2pix_rebalanced/5"][4] is True
    # L1 then the GAN: 4 of 5 epochs pretrain; its speed measurement (1 epoch) times the GAN alone.
    assert parsed["l1_then_pix2pix/5"][:5] == ["pix2pix", 5, 4, 0.0, False]
    assert parsed["l1_then_pix2pix/1"][:5] == ["pix2pix", 1, 0, 0.0, False]
    # Weight averaging; the HED VGG16 encoder, fixed for every epoch or freed after the first.
    assert parsed["pix2pix_ema/5"][5:] == [0.999, "", "", 0, False]
    assert parsed["vgg_frozen_ema/5"][5:] == [0.999, "vgg16", "hed.weights.h5", 5, False]
    assert parsed["vgg_ema/5"][5:] == [0.999, "vgg16", "hed.weights.h5", 1, False]
    assert parsed["lite0_frozen_ema/5"][5:] == [0.999, "efficientnet_lite0", "lite0.weights.h5", 5, False]
    assert parsed["lite0_frozen_ema_slim/5"][5:] == [0.999, "efficientnet_lite0", "lite0.weights.h5", 5, False]
    assert parsed["lite0_frozen_ema_colorful/5"][3] == 10.0
    assert parsed["lite0_frozen_ema_colorful/5"][5:] == [0.999, "efficientnet_lite0", "lite0.weights.h5", 5, False]
    assert parsed["lite0_frozen_ema998/5"][5:] == [0.998, "efficientnet_lite0", "lite0.weights.h5", 5, False]
    # The shipped recipe as a hint generator.
    assert parsed["lite0_frozen_ema_hints/5"][5:] == [0.999, "efficientnet_lite0", "lite0.weights.h5", 5, True]


def test_a_pretrained_recipe_gets_the_budget_at_both_speeds(tmp_path):
    """4 of 5 epochs at the regression's speed, 1 at the GAN's: steps = budget / mean time per step."""
    from bench import quality

    for name, rate in (("l1", 100.0), ("l1_then_pix2pix", 50.0)):
        os.makedirs(tmp_path / "calibration" / name)
        (tmp_path / "calibration" / name / "summary.json").write_text(json.dumps({"images_per_second": rate}))
    args = type("Args", (), {"minutes": 10.0, "epochs": 5, "steps": 0})()
    steps, rate = quality.budget("l1_then_pix2pix", args, "unused", str(tmp_path))
    seconds_per_image = 0.8 / 100 + 0.2 / 50  # 0.012
    assert abs(rate - 1 / seconds_per_image) < 1e-9
    assert steps == int(600 / seconds_per_image / quality.BATCH)  # 3125
    assert quality.pretrain_epochs("l1_then_pix2pix", 2) == 1 and quality.pretrain_epochs("l1_then_pix2pix", 1) == 0


def test_fixed_steps_replace_the_time_budget_without_a_speed_measurement(tmp_path):
    from bench import quality

    args = type("Args", (), {"minutes": 10.0, "epochs": 5, "steps": 5550})()
    assert quality.budget("pix2pix", args, "no-data-here", str(tmp_path)) == (5550, None)
    assert not os.path.exists(tmp_path / "calibration")  # nothing was trained to time it


def test_ship_stores_the_weights_as_float16_and_the_render_size_in_the_config(tmp_path):
    """--ship: the run's generator with float16 weights (tfcolor.models.storage), its summary as it
    was, its config with the default render size, which load_generator then renders at."""
    import keras

    from bench import shipping
    from tfcolor import models
    from tfcolor.core import rundir
    from tfcolor.deploy.serving import load_generator
    from tfcolor.models import storage

    run, target = tmp_path / "run", tmp_path / "shipped"
    run.mkdir()
    keras.utils.set_random_seed(0)
    models.build_generator("unet_small", image_size=32, base_filters=8).save(run / rundir.GENERATOR)
    (run / rundir.CONFIG).write_text(json.dumps({"data": {"image_size": 32}}))
    (run / rundir.SUMMARY).write_text(json.dumps({"steps": 7}))
    shipping.ship(str(run), str(target), render_size=64)
    assert storage.stored_dtypes(str(target / rundir.GENERATOR)) == {"float16"}
    assert json.loads((target / rundir.SUMMARY).read_text()) == {"steps": 7}
    assert json.loads((target / rundir.CONFIG).read_text()) == {"data": {"image_size": 32}, rundir.RENDER_SIZE: 64}
    generator, size = load_generator(str(target))
    assert size == 64 and generator.input_shape == (None, 64, 64, 1)


def test_the_calibrated_gain_matches_the_real_colourfulness_and_ships_in_the_config(tmp_path):
    """--ship_chroma_gain=calibrate: real / colourised mean colourfulness of the held-out
    evaluation (40 against 25.6: 1.5625, kept to 2 decimals), written into the shipped config."""
    from bench import shipping
    from tfcolor import models
    from tfcolor.core import rundir

    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "metrics.json").write_text(json.dumps({"summary": {
        "truth": {"colorfulness": 40.0}, "model": {"colorfulness": 25.6}, "gray": {"colorfulness": 0.1}}}))
    assert shipping.calibrated_gain(str(tmp_path / "eval")) == 1.56
    run = tmp_path / "run"
    run.mkdir()
    models.build_generator("unet_small", image_size=32, base_filters=8).save(run / rundir.GENERATOR)
    (run / rundir.CONFIG).write_text(json.dumps({"data": {"image_size": 32}}))
    (run / rundir.SUMMARY).write_text("{}")
    shipping.ship(str(run), str(tmp_path / "a"), chroma_gain=1.56)
    shipping.ship(str(run), str(tmp_path / "b"), chroma_gain=1.0)  # 1: nothing to write
    assert json.loads((tmp_path / "a" / rundir.CONFIG).read_text())[rundir.CHROMA_GAIN] == 1.56
    assert rundir.CHROMA_GAIN not in json.loads((tmp_path / "b" / rundir.CONFIG).read_text())


def test_shipped_files_carry_no_paths_of_the_machine():
    """bench.quality --ship writes configs and summaries with paths relative to the repository
    (or bare names outside it), and the shipped model's files hold none."""
    from bench import shipping

    config = {"data": {"train": os.path.join(shipping.ROOT, "runs", "q", "data64"), "val": ""},
              "model": {"encoder_weights": "/elsewhere/pretrained/lite0.weights.h5"}, "steps": 5,
              "paths": ["/x/y.keras", "relative/z"]}
    assert shipping.portable(config) == {"data": {"train": os.path.join("runs", "q", "data64"), "val": ""},
                                        "model": {"encoder_weights": "lite0.weights.h5"}, "steps": 5,
                                        "paths": ["y.keras", "relative/z"]}

    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    shipped = os.path.join(REPO, "saved_models", "colorizer")
    for name in ("config.json", "summary.json"):
        with open(os.path.join(shipped, name)) as f:
            absolute = [s for s in strings(json.load(f)) if os.path.isabs(s)]
        assert not absolute, (name, absolute)


def test_whole_photo_sets_are_built_from_unpacked_packages_at_512_px(tmp_path):
    """bench.sources.build_whole_set: each listed photo of each package (already unpacked under
    work/unpacked, so nothing is fetched) written whole, long side 512 px, named PACKAGE__STEM.jpg
    (the palapeli check set keeps its bare names); a second build keeps what the first wrote."""
    import numpy as np
    from PIL import Image

    from bench import sources

    for package, name, size in (("pets", "a/cat.png", (800, 600)), ("pets", "b/dog.jpg", (300, 400)),
                                (sources.CHECK_PACKAGE, "c/castle.jpg", (1024, 256))):
        path = tmp_path / "unpacked" / package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((size[1], size[0], 3), (200, 40, 90), np.uint8)).save(path)
    out = sources.build_whole_set(str(tmp_path), "snaps", {"pets": ["a/cat.png", "b/dog.jpg"]})
    assert sorted(os.listdir(out)) == ["pets__cat.jpg", "pets__dog.jpg"]
    assert Image.open(os.path.join(out, "pets__cat.jpg")).size == (512, 384)
    assert Image.open(os.path.join(out, "pets__dog.jpg")).size == (300, 400)  # never enlarged
    assert np.abs(np.asarray(Image.open(os.path.join(out, "pets__cat.jpg")), float) - (200, 40, 90)).max() < 4
    check = sources.build_whole_set(str(tmp_path), "check", {sources.CHECK_PACKAGE: ["c/castle.jpg"]})
    assert os.listdir(check) == ["castle.jpg"] and Image.open(os.path.join(check, "castle.jpg")).size == (512, 128)
    os.remove(tmp_path / "unpacked" / "pets" / "a" / "cat.png")
    assert sources.build_whole_set(str(tmp_path), "snaps", {"pets": ["a/cat.png"]}) == out  # built once
    assert len(os.listdir(out)) == 2


def test_the_people_sources_are_held_out_of_training(tmp_path, monkeypatch):
    """--hold_out_people leaves every source of the people set out of the MORE photos (nothing
    fetched: the packages are already unpacked), and the people set names a wheel's photos by
    its project."""
    import numpy as np
    from PIL import Image

    from bench import sources

    assert set(sources.PEOPLE_SOURCES) <= set(sources.MORE)  # each people source is one --more_photos adds
    for seed, (folder, name) in enumerate((("portraits", "p/face.jpg"), ("streets", "s/road.jpg"),
                                           ("streets", "s/bus.jpg"))):
        path = tmp_path / "unpacked" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)  # (distinct photos: copies count once)
        Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(path)
    monkeypatch.setattr(sources, "MORE", {"pypi:portraits==1.0": (["p/*.jpg"], []), "streets": (["s/*.jpg"], ["bus"])})
    assert sorted(sources.more_photos(str(tmp_path))) == ["portraits/p_face", "streets/s_road"]
    assert sorted(sources.more_photos(str(tmp_path), hold_out=("pypi:portraits==1.0",))) == ["streets/s_road"]
    out = sources.build_whole_set(str(tmp_path), "people", {"pypi:portraits==1.0": ["p/face.jpg"]})
    assert os.listdir(out) == ["portraits__face.jpg"]


def test_the_snapshot_table_gives_means_shares_and_photos_above_the_floor():
    """bench.snapshots.table on hand-made evaluations: the floor's row from the first, then per
    evaluation its mean PSNR and SSIM, colourfulness as a share of the real photos' mean, and
    how many photos beat their own gray."""
    from bench.snapshots import table

    def metrics(model_psnr, colour):
        images = [{"truth_colorfulness": t, "model": {"psnr": p}, "gray": {"psnr": g}}
                  for t, p, g in ((30.0, model_psnr[0], 20.0), (50.0, model_psnr[1], 25.0))]
        return {"per_image": images,
                "summary": {"gray": {"psnr": 22.5, "ssim": 0.9}, "model": {"psnr": sum(model_psnr) / 2,
                                                                          "ssim": 0.8, "colorfulness": colour}}}

    lines = table([("a, gain 1", metrics((21.0, 24.0), 20.0)), ("a, gain 0.8", metrics((19.0, 26.0), 30.0))])
    lines = lines.splitlines()
    assert lines[2] == "| gray photo (floor) | 22.50 | 0.900 | 0 % | |"
    assert lines[3] == "| a, gain 1 | 22.50 | 0.800 | 50 % | 1 of 2 |"
    assert lines[4] == "| a, gain 0.8 | 22.50 | 0.800 | 75 % | 1 of 2 |"


def test_the_gain_table_puts_seeds_side_by_side_with_their_mean():
    from bench.snapshots import gain_table

    lines = gain_table({"s0": {1.0: 20.0, 0.5: 21.0}, "s1": {1.0: 19.0, 0.5: 21.5}}, 20.5).splitlines()
    assert lines[0] == "| gain | s0 | s1 | mean |"
    assert lines[2:4] == ["| 0.5 | 21.00 | 21.50 | 21.25 |", "| 1 | 20.00 | 19.00 | 19.50 |"]
    assert lines[-1] == "gray floor: 20.50 dB"


@pytest.mark.parametrize("global_context", [False, True])
def test_the_untrained_hint_refiner_is_levins_propagation(global_context):
    """bench.hint_refiner: the refiner's correction starts at zero, so before training its output
    is Levin's a*b* (its input channels 1-2) exactly, and its engine colours a photo as Levin's."""
    import keras
    import numpy as np

    from bench import hint_refiner
    from tests.conftest import photo
    from tfcolor.core import hints as hint_format
    from tfcolor.deploy.inference import gray_rgb
    from tfcolor.models.hint_refiner import CHANNELS, build

    keras.utils.set_random_seed(0)
    model = build([4, 8], global_context)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 24, CHANNELS)).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), x[..., 1:3])
    truth = photo("coffee")[::4, ::4]
    points = hint_format.protocol_points(hint_format.lab_of_rgb(truth)[..., 1:], 3, np.random.default_rng(0))
    gray, hints = gray_rgb(truth).numpy(), hint_format.Hints(points)
    levin_alone, refined = hint_refiner.engine(None)(gray, hints), hint_refiner.engine(model)(gray, hints)
    assert np.abs(levin_alone.astype(int) - refined).max() <= 1 and levin_alone.std(axis=-1).mean() > 1


def test_shipping_a_hint_refiner_writes_half_its_correction_in_float16(tmp_path):
    """bench.hint_refiner.ship: the model folder's hint_refiner.keras holds the correction times
    the factor, its weights float16 values (half the file), and nothing else is left there."""
    import keras
    import numpy as np

    from bench import hint_refiner
    from tests.conftest import perturb_refiner
    from tfcolor.core import rundir
    from tfcolor.models.hint_refiner import CHANNELS, build, load

    keras.utils.set_random_seed(0)
    model = perturb_refiner(build([4, 8]), 0.1)
    model.save(tmp_path / "trained.keras")
    (tmp_path / "model").mkdir()
    hint_refiner.ship(str(tmp_path / "trained.keras"), str(tmp_path / "model"), 0.5)
    assert os.listdir(tmp_path / "model") == [rundir.HINT_REFINER]
    shipped = load(str(tmp_path / "model" / rundir.HINT_REFINER))
    for weight in shipped.weights:
        np.testing.assert_array_equal(weight.numpy(), weight.numpy().astype(np.float16).astype(np.float32))
    x = np.random.default_rng(1).uniform(-1, 1, (1, 16, 16, CHANNELS)).astype(np.float32)
    np.testing.assert_allclose(shipped(x).numpy() - x[..., 1:3], 0.5 * (model(x).numpy() - x[..., 1:3]), atol=2e-3)
    assert os.path.getsize(tmp_path / "model" / rundir.HINT_REFINER) < os.path.getsize(tmp_path / "trained.keras")


def test_the_refiners_chroma_scaling_is_levins_answer_to_scaled_hints():
    """bench.hint_refiner --chroma_scale scales the stored Levin a*b* instead of solving again:
    right only because Levin's solve is linear in the hint colours, and only if every a*b*
    channel (Levin's, the hints', the truth's) and nothing else is scaled."""
    import numpy as np

    from bench import hint_refiner
    from tfcolor.core import levin

    rng = np.random.default_rng(3)
    gray = rng.uniform(0, 1, (12, 9))
    mask = rng.uniform(0, 1, (12, 9)) < 0.1
    hint_ab = np.where(mask[..., None], rng.uniform(-0.5, 0.5, (12, 9, 2)), 0)
    np.testing.assert_allclose(levin.propagate(gray, 1.4 * hint_ab, mask), 1.4 * levin.propagate(gray, hint_ab, mask),
                               atol=1e-5)
    layout = ["L", "a (Levin)", "b (Levin)", "a (hint)", "b (hint)", "mask", "a (truth)", "b (truth)", "valid"]
    assert [layout[i] for i in hint_refiner.AB_CHANNELS] == [c for c in layout if c[0] in "ab"]
