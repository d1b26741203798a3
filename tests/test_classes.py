"""Colour classes (--ab_output=classes): the class grid against skimage's sRGB gamut, the
annealed mean and the soft-encoded cross-entropy against numpy, the class head through
saving, TFLite and a few training steps."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor

from tests.conftest import photo_crops
from tfcolor import gans, models
from tfcolor.core import ab_bins, color
from tfcolor.deploy import lite
from tfcolor.gans import losses, rebalance
from tfcolor.gans.reconstruction import Reconstruction
from tfcolor.models import classes

CENTRES = ab_bins.gamut_centres()


def cells_of(ab):
    """Grid cell (row-major index into ab_bins.cell_centres) of natural ab values."""
    index = ab_bins.cell_index(ab)
    return index[..., 0] * ab_bins.BINS + index[..., 1]


def test_the_classes_are_the_cells_that_srgb_colours_fall_in():
    rng = np.random.default_rng(0)
    rgb = np.concatenate([rng.uniform(0, 1, (400_000, 3)),  # and the saturated faces of the cube
                          np.eye(3)[rng.integers(0, 3, 200_000)] * rng.uniform(0, 1, (200_000, 1))
                          + np.eye(3)[rng.integers(0, 3, 200_000)] * rng.uniform(0, 1, (200_000, 1))])
    hit = set(np.unique(cells_of(skcolor.rgb2lab(rgb.clip(0, 1)[None])[0, :, 1:])))
    kept = set(cells_of(CENTRES))
    assert hit <= kept
    assert len(kept - hit) <= 0.03 * len(kept), sorted(kept - hit)  # cells only grazed by the gamut
    np.testing.assert_array_equal(CENTRES % 10, 5.0)


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 0.38, 0.01])
def test_annealed_mean_against_numpy(temperature):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (2, 3, 4, len(CENTRES))).astype(np.float32)
    got = classes.AnnealedMean(CENTRES, temperature)(tf.constant(logits)).numpy()
    expected = softmax(logits / temperature) @ CENTRES / color.AB_SCALE
    np.testing.assert_allclose(got, expected, atol=1e-5)
    if temperature == 0.01:  # the mode: the likeliest class's centre (by a margin of 1 here)
        clear = logits + np.eye(len(CENTRES), dtype=np.float32)[logits.argmax(-1)]
        got = classes.AnnealedMean(CENTRES, temperature)(tf.constant(clear)).numpy()
        np.testing.assert_allclose(got, CENTRES[logits.argmax(-1)] / color.AB_SCALE, atol=1e-3)


def test_soft_encoding_and_cross_entropy_against_numpy():
    rng = np.random.default_rng(2)
    ab = rng.uniform(-80, 80, (2, 3, 3, 2)).astype(np.float32)
    logits = rng.normal(0, 2, (2, 3, 3, len(CENTRES))).astype(np.float32)
    bin_weights = rng.uniform(0.5, 2, (ab_bins.BINS, ab_bins.BINS)).astype(np.float32)
    expected_plain, expected_weighted = [], []
    for pixel, z in zip(ab.reshape(-1, 2), logits.reshape(-1, len(CENTRES))):
        q = np.exp(-((CENTRES - pixel) ** 2).sum(1) / (2 * 5.0**2))  # a Gaussian over every class
        q /= q.sum()
        assert np.sort(q)[-5:].sum() > 0.92  # most of it on the 5 nearest (the paper's encoding)
        cross_entropy = -(q * np.log(softmax(z))).sum()
        i, j = np.floor(pixel / 10).astype(int) + 11
        expected_plain.append(cross_entropy)
        expected_weighted.append(bin_weights[i, j] * cross_entropy)
    ab_norm = tf.constant(ab / color.AB_SCALE)
    got = losses.class_cross_entropy(ab_norm, tf.constant(logits), CENTRES).numpy()
    np.testing.assert_allclose(got, np.mean(expected_plain), rtol=1e-5)
    got = losses.class_cross_entropy(ab_norm, tf.constant(logits), CENTRES, bin_weights).numpy()
    np.testing.assert_allclose(got, np.mean(expected_weighted), rtol=1e-5)


def class_generator(size=32, temperature=0.38):
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=size, num_downs=3, base_filters=8,
                               out_channels=classes.CLASS_FEATURES)
    return classes.class_head(g, temperature)


def real_l(count=2, size=32):
    rgb = np.stack([tf.image.resize(c, [size, size]).numpy() / 255.0 for c in photo_crops(count, size=64)])
    return color.normalize_l(color.rgb_to_lab(rgb.astype(np.float32))[..., :1]).numpy()


def test_a_class_head_generator_saves_converts_and_gives_in_gamut_ab(tmp_path):
    generator = class_generator()
    l_norm = real_l()
    ab = generator(l_norm, training=False).numpy()
    assert ab.shape == (2, 32, 32, 2)
    # A mean of class centres lies in their convex hull.
    assert np.abs(ab * color.AB_SCALE).max() <= np.abs(CENTRES).max() + 1e-3
    path = str(tmp_path / "generator.keras")
    generator.save(path)
    loaded = models.load_generator_file(path)
    np.testing.assert_allclose(loaded(l_norm, training=False).numpy(), ab, atol=1e-6)
    assert loaded.get_layer(classes.DECODE).temperature == pytest.approx(0.38)
    runner = lite.interpreter(lite.convert(generator, 32, "fp32"), num_threads=2).get_signature_runner("generator")
    np.testing.assert_allclose(runner(l=l_norm)["ab"], ab, atol=1e-4)


def test_the_class_term_needs_a_class_head():
    g = models.build_generator("unet_small", image_size=16, num_downs=3, base_filters=8)
    d = models.build_discriminator("pixelgan", image_size=16)
    with pytest.raises(ValueError, match="class head"):
        gans.build_gan("pix2pix", g, d, reconstruction=Reconstruction(0.0, class_weight=1.0))


def test_the_class_prior_is_the_smoothed_histogram_at_the_class_cells():
    counts = np.zeros((ab_bins.BINS, ab_bins.BINS))
    counts[11, 11], counts[4, 18] = 30.0, 10.0  # a in [0, 10), b in [0, 10); a in [-70, -60), b in [70, 80)
    prior = rebalance.class_prior(counts, CENTRES, sigma=0.0)
    assert prior.sum() == pytest.approx(1.0)
    at = {tuple(c): p for c, p in zip(CENTRES, prior)}
    assert at[(5.0, 5.0)] == pytest.approx(0.75, abs=1e-3) and at[(-65.0, 75.0)] == pytest.approx(0.25, abs=1e-3)
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=16, num_downs=3, base_filters=8,
                               out_channels=classes.CLASS_FEATURES)
    head = classes.class_head(g, centres=CENTRES, prior=prior).get_layer(classes.LOGITS)
    np.testing.assert_allclose(head.bias.numpy(), np.log(prior), rtol=1e-6)


def class_cross_entropy_of(generator, l, ab):
    logits, _ = classes.logits_view(generator)(l, training=True)
    return float(losses.class_cross_entropy(ab, logits, CENTRES))


@pytest.mark.slow
def test_pix2pix_with_colour_classes_learns_the_classes_of_real_photos():
    crops = np.stack([tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                      for c in photo_crops(64, size=64)])
    l, ab = color.split_lab(color.rgb_to_lab(crops))
    prior = rebalance.class_prior(rebalance.histogram(ab.numpy() * color.AB_SCALE), CENTRES)
    train = tf.data.Dataset.from_tensor_slices((l, ab)).batch(8, drop_remainder=True).repeat()
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=32, num_downs=3, base_filters=8,
                               out_channels=classes.CLASS_FEATURES)
    generator = classes.class_head(g, centres=CENTRES, prior=prior)
    gan = gans.build_gan("pix2pix", generator, models.build_discriminator("pixelgan", image_size=32),
                         reconstruction=Reconstruction(0.0, class_weight=1.0))
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(2e-4, 0.5))
    uniform = np.log(len(CENTRES))  # the cross-entropy of a uniform guess against any soft target
    before = class_cross_entropy_of(generator, l, ab)
    history = gan.fit(train, steps_per_epoch=80, epochs=1, verbose=0).history
    after = class_cross_entropy_of(generator, l, ab)
    assert np.isfinite(history["g_loss"]).all()
    assert before < 0.8 * uniform  # the prior is a better start than no knowledge
    assert after < before - 0.3, (before, after)  # and the photos' L teaches more
