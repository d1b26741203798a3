"""The three objectives: update counts, clipping, the BatchNorm refusal, learning on real
photos, L1 pretraining, mixed precision and multi-replica parity."""

import contextlib
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO, photo_crops, run_script
from tfcolor import gans, models
from tfcolor.core import color


def tiny_gan(objective, norm="batch", size=16, **kwargs):
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=size, num_downs=3, base_filters=8)
    d = models.build_discriminator("patchgan", image_size=size, n_layers=1, base_filters=8, norm=norm)
    return gans.build_gan(objective, g, d, **kwargs)


def random_batches(size=16, batch=4):
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (batch, size, size, 1)).astype(np.float32)
    ab = (0.3 * rng.normal(size=(batch, size, size, 2))).astype(np.float32)
    return tf.data.Dataset.from_tensors((l, ab)).repeat()


@pytest.fixture(scope="module")
def photo_data():
    """32 px crops of real photos: 192 for training (batches of 8), 32 held out."""
    crops = np.stack([tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                      for c in photo_crops(224, size=64)])
    l, ab = color.split_lab(color.rgb_to_lab(crops))
    train = tf.data.Dataset.from_tensor_slices((l[:192], ab[:192])).shuffle(192, seed=0)
    train = train.batch(8, drop_remainder=True).repeat()
    val = tf.data.Dataset.from_tensor_slices((l[192:], ab[192:])).batch(16)
    return train, val


@pytest.mark.slow
def test_discriminator_updates_n_critic_times_per_generator_update():
    gan = tiny_gan("wgan", n_critic=5)
    gan.compile()
    gan.fit(random_batches(), steps_per_epoch=3, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 3
    assert int(gan.d_optimizer.iterations) == 15


def test_the_critic_loop_on_one_device_equals_the_unrolled_steps_under_a_strategy():
    """Without a strategy the n_critic - 1 critic steps are one tf.while_loop; under one
    (OneDeviceStrategy here) they are unrolled: the same weights after two steps."""
    weights = []
    for strategy in (None, tf.distribute.OneDeviceStrategy("/cpu:0")):
        with strategy.scope() if strategy else contextlib.nullcontext():
            gan = tiny_gan("wgan", n_critic=3)
            gan.compile()
        gan.fit(random_batches(), steps_per_epoch=2, epochs=1, verbose=0)
        assert int(gan.d_optimizer.iterations) == 6
        weights.append([v.numpy() for v in gan.generator.weights + gan.discriminator.weights])
    moved = max(float(np.abs(a - b).max()) for a, b in zip(weights[0], tiny_gan("wgan").generator.weights))
    assert moved > 1e-4
    for loop, unrolled in zip(*weights):
        np.testing.assert_allclose(loop, unrolled, atol=1e-6)


@pytest.mark.slow
def test_wgan_keeps_every_critic_weight_within_the_clip_value():
    gan = tiny_gan("wgan", clip_value=0.01)
    gan.compile()
    gan.fit(random_batches(), steps_per_epoch=2, epochs=1, verbose=0)
    values = np.concatenate([v.numpy().ravel() for v in gan.discriminator.trainable_variables])
    assert np.abs(values).max() <= 0.01 + 1e-7
    assert np.isclose(np.abs(values), 0.01).sum() > 10  # clipping really happened


@pytest.mark.slow
def test_wgan_gp_never_clips():
    gan = tiny_gan("wgan_gp", norm="layer")
    gan.compile()
    gan.fit(random_batches(), steps_per_epoch=2, epochs=1, verbose=0)
    values = np.concatenate([v.numpy().ravel() for v in gan.discriminator.trainable_variables])
    assert np.abs(values).max() > 0.02  # N(0, 0.02) init has larger weights, and they stay


def test_wgan_gp_refuses_a_batchnorm_critic():
    with pytest.raises(ValueError, match="without BatchNorm"):
        tiny_gan("wgan_gp", norm="batch")


def test_default_optimizers_follow_the_papers():
    p2p, wgan, gp = tiny_gan("pix2pix"), tiny_gan("wgan"), tiny_gan("wgan_gp", norm="layer")
    for gan in (p2p, wgan, gp):
        gan.compile()
    assert isinstance(p2p.g_optimizer, keras.optimizers.Adam)
    assert float(p2p.g_optimizer.learning_rate) == pytest.approx(2e-4) and p2p.g_optimizer.beta_1 == 0.5
    assert isinstance(wgan.d_optimizer, keras.optimizers.RMSprop)
    assert float(wgan.d_optimizer.learning_rate) == pytest.approx(5e-5)
    assert (gp.d_optimizer.beta_1, gp.d_optimizer.beta_2) == (0.5, 0.9)
    assert float(gp.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert (wgan.n_critic, gp.n_critic, gp.gp_weight, p2p.l1_weight) == (5, 5, 10.0, 100.0)


@pytest.mark.parametrize("objective,norm,steps", [
    ("pix2pix", "batch", 80), ("wgan", "batch", 40), ("wgan_gp", "layer", 30),
])
@pytest.mark.slow
def test_each_objective_learns_colour_from_real_photos(photo_data, objective, norm, steps):
    train, val = photo_data
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=32, base_filters=32)
    d = models.build_discriminator("pixelgan", image_size=32, norm=norm)
    gan = gans.build_gan(objective, g, d)
    gan.compile()
    before = gan.evaluate(val, verbose=0, return_dict=True)
    history = gan.fit(train, steps_per_epoch=steps, epochs=1, verbose=0).history
    after = gan.evaluate(val, verbose=0, return_dict=True)
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert after["l1"] < 0.85 * before["l1"], (before, after)
    assert after["psnr"] > before["psnr"]


@pytest.mark.slow
def test_l1_pretraining_updates_only_the_generator():
    gan = tiny_gan("pix2pix")
    gan.compile()
    gan.set_pretraining(True)
    d_before = [v.numpy() for v in gan.discriminator.weights]
    history = gan.fit(random_batches(), steps_per_epoch=3, epochs=1, verbose=0).history
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 0
    for before, after in zip(d_before, gan.discriminator.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert history["l1"][-1] > 0
    gan.set_pretraining(False)
    gan.fit(random_batches(), steps_per_epoch=1, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 1


def test_validation_psnr_is_measured_on_rgb():
    gan = tiny_gan("pix2pix")
    gan.compile()
    data = random_batches()
    l, ab = next(iter(data))
    fake = gan.generator(l, training=False)
    real_rgb = color.normalized_lab_to_rgb(l, ab).numpy()
    fake_rgb = color.normalized_lab_to_rgb(l, fake).numpy()
    mse = ((real_rgb - fake_rgb) ** 2).mean(axis=(1, 2, 3))
    expected = np.mean(10 * np.log10(1.0 / mse))
    result = gan.evaluate(data.take(1), verbose=0, return_dict=True)
    assert result["psnr"] == pytest.approx(expected, rel=1e-4)
    assert result["l1"] == pytest.approx(float(tf.reduce_mean(tf.abs(ab - fake))), rel=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_step_is_finite(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        gan = tiny_gan("pix2pix")
        gan.compile()
        if policy == "mixed_float16":
            assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
        history = gan.fit(random_batches(), steps_per_epoch=2, epochs=1, verbose=0).history
        assert gan.generator.layers[-1].compute_dtype == "float32"
        assert all(np.isfinite(v[-1]) for v in history.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["pix2pix", "wgan", "wgan_gp"])
def test_mirrored_step_on_two_devices_equals_one_device(objective):
    result = run_script(os.path.join(REPO, "tests", "distributed_parity.py"), objective)
    diff = json.loads(result.stdout.strip().splitlines()[-1])[objective]
    assert diff["max_update"] > 1e-3  # the step really moved the weights
    assert diff["max_diff"] <= 1e-5
    # The generator's weight average: one update by hand, the same on both device counts, and
    # the same on both devices.
    assert diff["average_vs_hand"] <= 1e-6
    assert diff["average_diff"] <= 1e-5 and diff["average_replicas"] == 0.0


class _WeightRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(self.model.generator.get_weights())


def test_weight_average_equals_the_hand_computed_average():
    gan = tiny_gan("pix2pix", ema_decay=0.8)
    gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05))
    average = gan.generator.get_weights()
    recorder = _WeightRecorder()
    gan.fit(random_batches(), steps_per_epoch=4, epochs=1, verbose=0, callbacks=[recorder])
    for t, weights in enumerate(recorder.steps, start=1):
        decay = min(0.8, (1 + t) / (10 + t))  # 2/11, 3/12, 4/13, 5/14: the warm-up, then 0.8
        average = [decay * a + (1 - decay) * w for a, w in zip(average, weights, strict=True)]
    got = gan.averaged_generator.get_weights()
    assert max(np.abs(a - b).max() for a, b in zip(got, average, strict=True)) < 1e-6
    raw = gan.generator.get_weights()
    assert max(np.abs(a - b).max() for a, b in zip(got, raw, strict=True)) > 1e-3  # not the raw weights
    # Validation, the call and the sample grids use the average.
    l = random_batches().take(1).get_single_element()[0]
    np.testing.assert_allclose(gan(l).numpy(), gan.averaged_generator(l, training=False).numpy(), atol=1e-6)
    assert gan.inference_generator is gan.averaged_generator


def test_checkpoints_keep_the_raw_and_the_averaged_weights(tmp_path):
    gan = tiny_gan("pix2pix", ema_decay=0.9)
    gan.compile()
    gan.fit(random_batches(), steps_per_epoch=3, epochs=1, verbose=0)
    path = tf.train.Checkpoint(gan=gan).save(str(tmp_path / "ckpt"))
    restored = tiny_gan("pix2pix", ema_decay=0.9)
    restored.compile()
    tf.train.Checkpoint(gan=restored).restore(path).expect_partial()
    for mine, theirs in ((gan.generator, restored.generator), (gan.averaged_generator, restored.averaged_generator)):
        for a, b in zip(mine.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(restored.generator.get_weights(),
                                                        restored.averaged_generator.get_weights()))
    assert int(restored.g_optimizer.iterations) == 3
