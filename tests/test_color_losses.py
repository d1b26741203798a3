"""The loss terms against sepia (colourfulness, class-rebalanced L1, perceptual) against
hand-computed values and references (tfcolor.eval.metrics, scipy)."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from tests.conftest import photo
from tfcolor.core import color
from tfcolor.eval import metrics
from tfcolor.models import vgg
from tfcolor.gans import losses, rebalance
from tfcolor.gans.reconstruction import Reconstruction


def test_colorfulness_by_hand_and_against_the_metric():
    # Two pixels, (255, 0, 0) and (0, 0, 0): rg = (255, 0), yb = (127.5, 0); population
    # variances 127.5^2 and 63.75^2, means 127.5 and 63.75.
    image = np.array([[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]], np.float32)
    expected = np.sqrt(127.5 ** 2 + 63.75 ** 2) + 0.3 * np.sqrt(127.5 ** 2 + 63.75 ** 2)
    assert float(losses.colorfulness(image, epsilon=0.0)[0]) == pytest.approx(expected, rel=1e-5)
    photos = np.stack([photo("coffee")[:96, :128], photo("chelsea")[:96, :128]])
    reference = metrics.colorfulness(photos)
    np.testing.assert_allclose(losses.colorfulness(photos / 255.0).numpy(), reference, rtol=1e-4)


def test_colorfulness_loss_counts_only_the_missing_colour():
    truth = photo("coffee")[None, :64, :64] / 255.0
    gray = np.repeat(truth.mean(axis=-1, keepdims=True), 3, axis=-1)
    c_truth = float(metrics.colorfulness(truth)[0])
    # A gray prediction lacks all of the truth's colourfulness (up to the epsilon).
    assert float(losses.colorfulness_loss(gray, truth)) == pytest.approx(c_truth / 100.0, abs=1e-4)
    # More colourful than the truth: no penalty; the batch mean of the two cases is half.
    vivid = np.clip((truth - gray) * 2.0 + gray, 0.0, 1.0)
    assert float(losses.colorfulness_loss(vivid, truth)) == 0.0
    both = losses.colorfulness_loss(np.concatenate([gray, vivid]), np.concatenate([truth, truth]))
    assert float(both) == pytest.approx(c_truth / 200.0, abs=1e-4)
    # The gradient on a gray prediction is finite and raises its colourfulness.
    x = tf.Variable(gray + 0.01 * np.random.default_rng(0).normal(size=gray.shape), dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = losses.colorfulness_loss(x, truth)
    grad = tape.gradient(loss, x)
    assert np.isfinite(grad.numpy()).all()
    assert float(losses.colorfulness(x - 10.0 * grad)[0]) > float(losses.colorfulness(x)[0])


def test_ab_histogram_bins_by_hand():
    ab = np.array([[-110.0, -110.0], [0.0, 0.0], [5.0, -5.0], [200.0, 0.0], [9.9, 19.9]])
    counts = rebalance.histogram(ab)
    assert counts.shape == (22, 22) and counts.sum() == 5
    for a, b in ((0, 0), (11, 11), (11, 10), (21, 11), (11, 12)):
        assert counts[a, b] == 1, (a, b)


def test_rebalancing_weights_by_hand():
    counts = np.zeros((4, 4))
    counts[1, 1], counts[2, 3] = 3, 1  # p = 0.75, 0.25; Q = 2 bins seen
    w = rebalance.weights(counts, lam=0.5, sigma=0.0)
    raw = {"common": 1 / (0.5 * 0.75 + 0.25), "rare": 1 / (0.5 * 0.25 + 0.25), "unseen": 1 / 0.25}
    norm = 0.75 * raw["common"] + 0.25 * raw["rare"]
    assert w[1, 1] == pytest.approx(raw["common"] / norm, rel=1e-6)  # 0.857
    assert w[2, 3] == pytest.approx(raw["rare"] / norm, rel=1e-6)  # 1.429
    assert w[0, 0] == pytest.approx(raw["unseen"] / norm, rel=1e-6)
    np.testing.assert_allclose(rebalance.weights(counts, lam=1.0, sigma=0.0), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        rebalance.weights(np.zeros((4, 4)))


def test_rebalancing_smooths_like_a_gaussian_filter_and_keeps_the_expected_weight_one():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, size=(22, 22)).astype(float) * (rng.random((22, 22)) < 0.3)
    w = rebalance.weights(counts, lam=0.5, sigma=5.0)
    p = counts / counts.sum()
    smoothed = ndimage.gaussian_filter(p, sigma=0.5, mode="constant", truncate=3.0)
    smoothed /= smoothed.sum()
    q = (counts > 0).sum()
    expected = 1.0 / (0.5 * smoothed + 0.5 / q)
    expected /= (smoothed * expected).sum()
    np.testing.assert_allclose(w, expected, rtol=1e-5)
    assert float((smoothed * w).sum()) == pytest.approx(1.0, rel=1e-5)


def test_rebalanced_l1_by_hand():
    bin_weights = np.ones((22, 22), np.float32)
    bin_weights[11, 11] = 0.5  # a, b in [0, 10): a dull colour
    bin_weights[2, 20] = 4.0  # a in [-90, -80), b in [90, 100): a rare saturated green-yellow
    target = np.array([[[[5.0, 5.0], [-85.0, 95.0]]]], np.float32) / 110.0
    pred = np.zeros_like(target)
    # per pixel |diff| summed over a, b: (10, 180) / 110; weights (0.5, 4); mean over 4 values
    expected = (0.5 * 10.0 + 4.0 * 180.0) / 110.0 / 4.0
    assert float(losses.rebalanced_l1_loss(target, pred, bin_weights)) == pytest.approx(expected, rel=1e-6)
    uniform = rebalance.weights(rebalance.histogram(target * 110.0), lam=1.0)
    assert float(losses.rebalanced_l1_loss(target, pred, uniform)) == pytest.approx(
        float(losses.l1_loss(target, pred)), rel=1e-6)


def _vgg_file(tmp_path, convs=7):
    rng = np.random.default_rng(1)
    arrays, channels = {}, 3
    for index, width in zip(vgg.VGG_CONVS[:convs], (64, 64, 128, 128, 256, 256, 256)[:convs], strict=True):
        arrays[f"features.{index}.weight"] = (rng.normal(size=(width, channels, 3, 3))
                                              * np.sqrt(2 / (9 * channels))).astype(np.float32)
        arrays[f"features.{index}.bias"] = rng.normal(size=width).astype(np.float32) * 0.1
        channels = width
    path = str(tmp_path / "vgg.npz")
    np.savez(path, **arrays)
    return path


def test_perceptual_loss_by_hand_and_vgg_taps(tmp_path):
    fa = [tf.constant([[[[1.0, 2.0]]]]), tf.constant([[[[0.0]], [[4.0]]]])]
    fb = [tf.constant([[[[0.0, 0.0]]]]), tf.constant([[[[1.0]], [[1.0]]]])]
    assert float(losses.perceptual_loss(fa, fb)) == pytest.approx((1 + 2) / 2 + (1 + 3) / 2)
    features = vgg.VGGFeatures(_vgg_file(tmp_path), taps=(2, 4, 7))
    image = photo("chelsea")[:32, :48]
    maps = features(image)
    assert [m.shape.as_list() for m in maps] == [[1, 32, 48, 64], [1, 16, 24, 128], [1, 8, 12, 256]]
    # relu1_2 by hand: two 3x3 convolutions on the normalised photo.
    weights = np.load(tmp_path / "vgg.npz")
    x = (image[None] / 255.0 * 2.0 - 1.0 - vgg.LPIPS_SHIFT) / vgg.LPIPS_SCALE
    for i in (0, 2):
        x = tf.nn.relu(tf.nn.conv2d(x.astype(np.float32) if isinstance(x, np.ndarray) else x,
                                    weights[f"features.{i}.weight"].transpose(2, 3, 1, 0), 1, "SAME")
                       + weights[f"features.{i}.bias"])
    np.testing.assert_allclose(maps[0].numpy(), x.numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(vgg.MissingWeights, match="not found"):
        vgg.VGGFeatures(str(tmp_path / "none.npz"))


def test_reconstruction_weighs_each_term(tmp_path):
    rng = np.random.default_rng(0)
    lab = color.rgb_to_lab(photo("coffee")[None, :32, :32] / 255.0)
    l_norm, ab = color.split_lab(lab)
    fake = ab * 0.3 + rng.normal(size=ab.shape).astype(np.float32) * 0.01
    bins = rebalance.weights(rebalance.histogram(ab.numpy() * 110.0))
    features = vgg.VGGFeatures(_vgg_file(tmp_path, 4), taps=(2, 4))
    rec = Reconstruction(100.0, bins, 2.0, features, 0.5)
    assert rec.names == ("l1_rebalanced", "color_gap", "perceptual")
    total, logs = rec(l_norm, ab, fake)
    real_rgb, fake_rgb = color.normalized_lab_to_rgb(l_norm, ab), color.normalized_lab_to_rgb(l_norm, fake)
    expected = {"l1": losses.l1_loss(ab, fake), "l1_rebalanced": losses.rebalanced_l1_loss(ab, fake, bins),
                "color_gap": losses.colorfulness_loss(fake_rgb, real_rgb),
                "perceptual": losses.perceptual_loss(features(fake_rgb), features(real_rgb))}
    for name, value in expected.items():
        assert float(logs[name]) == pytest.approx(float(value), rel=1e-5), name
    assert float(logs["color_gap"]) > 0.01  # the dull prediction lacks colour
    assert float(total) == pytest.approx(100 * float(expected["l1_rebalanced"]) + 2 * float(expected["color_gap"])
                                         + 0.5 * float(expected["perceptual"]), rel=1e-5)
    plain_total, plain_logs = Reconstruction(100.0)(l_norm, ab, fake)
    assert sorted(plain_logs) == ["l1"] and float(plain_total) == pytest.approx(100 * float(expected["l1"]))
