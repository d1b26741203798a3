"""Metrics against references: skimage for PSNR/SSIM, direct formulas for UIQI, colourfulness
by hand, FID against the closed form, LPIPS's formula, and refusal of Lab tensors."""

import numpy as np
import pytest
import skimage.metrics
import tensorflow as tf

from tests.conftest import photo
from tfcolor.core import color
from tfcolor.eval import metrics, perceptual
from tfcolor.models import vgg


@pytest.fixture(scope="module")
def pair():
    truth = photo("coffee")[:128, :160]
    rng = np.random.default_rng(0)
    pred = np.clip(truth.astype(int) + rng.integers(-20, 21, truth.shape) + [12, -5, 0], 0, 255).astype(np.uint8)
    return pred, truth


def test_psnr_and_ssim_match_skimage(pair):
    pred, truth = pair
    expected_psnr = skimage.metrics.peak_signal_noise_ratio(truth, pred, data_range=255)
    expected_ssim = skimage.metrics.structural_similarity(
        truth, pred, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False)
    assert abs(float(metrics.psnr(pred, truth)) - expected_psnr) < 1e-3
    assert abs(float(metrics.ssim(pred, truth)) - expected_ssim) < 1e-3
    # float [0, 1] input gives the same numbers as uint8
    assert abs(float(metrics.psnr(pred / 255.0, truth / 255.0)) - expected_psnr) < 1e-3


def test_mae_is_on_the_0_255_scale():
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.array([[[10, 0, 0], [0, 20, 0]], [[0, 0, 30], [0, 0, 0]]], np.uint8)
    assert float(metrics.mae(a, b)) == pytest.approx(60 / 12)


def uiqi_reference(x, y, window=8):
    """Direct loop over windows and channels, the paper's formula and edge rules."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    values = []
    for c in range(3):
        for i in range(x.shape[0] - window + 1):
            for j in range(x.shape[1] - window + 1):
                a = x[i:i + window, j:j + window, c].ravel()
                b = y[i:i + window, j:j + window, c].ravel()
                mx, my = a.mean(), b.mean()
                vx, vy = a.var(ddof=1), b.var(ddof=1)
                cxy = ((a - mx) * (b - my)).sum() / (a.size - 1)
                den1, den2 = vx + vy, mx * mx + my * my
                if den1 * den2 > 0:
                    values.append(4 * cxy * mx * my / (den1 * den2))
                elif den2 > 0:
                    values.append(2 * mx * my / den2)
                else:
                    values.append(1.0)
    return np.mean(values)


def test_uiqi_matches_the_direct_formula(pair):
    pred, truth = pair
    pred, truth = pred[:20, :24], truth[:20, :24]
    assert float(metrics.uiqi(pred, truth)) == pytest.approx(uiqi_reference(pred, truth), abs=1e-4)
    assert float(metrics.uiqi(truth, truth)) == pytest.approx(1.0, abs=1e-5)
    flat = np.full((10, 10, 3), 100, np.uint8)
    assert float(metrics.uiqi(flat, flat)) == pytest.approx(1.0)
    assert float(metrics.uiqi(flat, flat // 2)) == pytest.approx(uiqi_reference(flat, flat // 2))


def test_colorfulness_by_hand():
    image = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], np.uint8)
    # rg = R - G: 255, -255, 0, 0; yb = (R + G)/2 - B: 127.5, 127.5, -255, 0
    rg = np.array([255, -255, 0, 0.0])
    yb = np.array([127.5, 127.5, -255, 0.0])
    expected = np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    assert float(metrics.colorfulness(image)) == pytest.approx(expected, rel=1e-5)
    gray = np.repeat(np.arange(12, dtype=np.uint8).reshape(3, 4, 1) * 20, 3, axis=-1)
    assert float(metrics.colorfulness(gray)) == pytest.approx(0.0, abs=1e-4)
    assert float(metrics.delta_colorfulness(gray, image)) == pytest.approx(-expected, rel=1e-5)


def test_frechet_distance_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    a, b = rng.uniform(0.5, 2, 4), rng.uniform(0.5, 2, 4)
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    s1, s2 = rotation @ np.diag(a) @ rotation.T, rotation @ np.diag(b) @ rotation.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert metrics.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)
    # From samples of two Gaussians: close to the closed form of the true parameters.
    x = rng.normal(size=(200_000, 4)) * np.sqrt(a) + mu1
    y = rng.normal(size=(200_000, 4)) * np.sqrt(b) + mu2
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert perceptual.fid(x, y) == pytest.approx(closed, rel=0.02)
    assert perceptual.fid(x, x) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("samples", [6, 300])  # 64-D covariances of rank 5 and of full rank
def test_frechet_distance_equals_the_matrix_square_root_formula(samples):
    from scipy import linalg

    rng = np.random.default_rng(samples)
    a, b = rng.normal(size=(samples, 64)) ** 2, 1.3 * rng.normal(size=(samples, 64)) ** 2 + 0.1
    (mu1, s1), (mu2, s2) = metrics.feature_statistics(a), metrics.feature_statistics(b)
    if samples < 64:  # sqrtm needs an offset on singular products: both sides get it
        s1, s2 = s1 + np.eye(64) * 1e-6, s2 + np.eye(64) * 1e-6
    root = linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root)
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="finite"):
        metrics.frechet_distance(mu1, np.full_like(s1, np.nan), mu2, s2)


@pytest.mark.parametrize("n1,n2", [(5, 9), (12, 3), (63, 40), (80, 90)])  # 64-D: the feature path, then both
def test_frechet_distance_of_features_equals_the_covariance_formula(n1, n2):
    rng = np.random.default_rng(n1)
    a, b = rng.normal(size=(n1, 64)) ** 2, 1.3 * rng.normal(size=(n2, 64)) ** 2 + 0.1
    expected = metrics.frechet_distance(*metrics.feature_statistics(a), *metrics.feature_statistics(b))
    assert metrics.frechet_distance_of_features(a, b) == pytest.approx(expected, rel=1e-6)
    assert metrics.frechet_distance_of_features(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="finite"):
        metrics.frechet_distance_of_features(np.full_like(a, np.nan), b)
    with pytest.raises(ValueError, match="N >= 2"):
        metrics.frechet_distance_of_features(a[:1], b)


def test_frechet_distance_survives_singular_covariances():
    features = np.random.default_rng(0).normal(size=(10, 32))  # 10 samples in 32-D: rank 9
    assert abs(perceptual.fid(features, features)) < 1e-3
    assert np.isfinite(perceptual.fid(features, features + 1.0))


@pytest.mark.parametrize("kind", ["lab", "normalised_lab", "0_255_float"])
def test_lab_and_wrong_ranges_are_refused(kind):
    # A whole photo: dark areas give L/50 - 1 < 0 (a tensor that happened to lie in [0, 1]
    # could not be told from RGB by its range).
    rgb = photo("astronaut")[::8, ::8]
    lab = color.rgb_to_lab(rgb).numpy()
    tensor = {"lab": lab, "normalised_lab": np.concatenate(color.split_lab(lab), -1),
              "0_255_float": rgb.astype(np.float32)}[kind]
    with pytest.raises(ValueError, match="RGB in \\[0, 1\\]"):
        metrics.psnr(tensor, rgb)
    with pytest.raises(ValueError, match="RGB in \\[0, 1\\]"):
        metrics.colorfulness(tensor)


def test_lab_refused_inside_a_graph_too():
    lab = color.rgb_to_lab(photo("chelsea")[:16, :16]).numpy()
    with pytest.raises(tf.errors.InvalidArgumentError, match="Lab"):
        tf.function(metrics.ssim)(lab, lab)


def test_non_rgb_shapes_are_refused():
    with pytest.raises(ValueError, match="RGB images"):
        metrics.mae(np.zeros((8, 8, 2), np.uint8), np.zeros((8, 8, 2), np.uint8))


def test_lpips_formula_by_hand():
    fa = [tf.constant([[[[3.0, 4.0]]]])]  # one 1x1 map, unit-normalised: (0.6, 0.8)
    fb = [tf.constant([[[[0.0, 2.0]]]])]  # -> (0, 1)
    weights = [tf.constant([0.5, 2.0])]
    expected = 0.5 * 0.6 ** 2 + 2.0 * 0.2 ** 2
    assert float(perceptual.lpips_from_features(fa, fb, weights)[0]) == pytest.approx(expected, rel=1e-6)


def test_lpips_network_with_a_weights_file(tmp_path):
    rng = np.random.default_rng(0)
    arrays, channels = {}, 3
    widths = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
    for index, width in zip(vgg.VGG_CONVS, widths, strict=True):
        scale = np.sqrt(2 / (9 * channels))
        arrays[f"features.{index}.weight"] = (rng.normal(size=(width, channels, 3, 3)) * scale).astype(np.float32)
        arrays[f"features.{index}.bias"] = np.zeros(width, np.float32)
        channels = width
    for k, width in enumerate((64, 128, 256, 512, 512)):
        arrays[f"lin{k}"] = rng.uniform(0, 1, width).astype(np.float32)
    np.savez(tmp_path / "lpips.npz", **arrays)
    lpips = perceptual.LPIPS(str(tmp_path / "lpips.npz"))
    a, b = photo("coffee")[:64, :64], photo("chelsea")[:64, :64]
    assert float(lpips(a, a)) == pytest.approx(0.0, abs=1e-6)
    assert float(lpips(a, b)) > 0.01
    assert float(lpips(a, b)) == pytest.approx(float(lpips(b, a)), rel=1e-5)
    with pytest.raises(perceptual.MissingWeights, match="convert_lpips"):
        perceptual.LPIPS(str(tmp_path / "missing.npz"))


@pytest.mark.slow
def test_inception_features_from_a_local_weights_file(tmp_path):
    import keras

    with pytest.raises(perceptual.MissingWeights, match="not found"):
        perceptual.inception_features(str(tmp_path / "none.h5"))
    keras.utils.set_random_seed(0)
    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                           input_shape=(299, 299, 3))
    model.save_weights(tmp_path / "inception.weights.h5")
    features = perceptual.inception_features(str(tmp_path / "inception.weights.h5"))
    images = np.stack([photo("coffee")[:100, :120], photo("chelsea")[:100, :120]])
    out = features(images).numpy()
    assert out.shape == (2, 2048) and np.isfinite(out).all()
    expected = model(tf.image.resize(images / 255.0, [299, 299]) * 2.0 - 1.0, training=False).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4)


@pytest.mark.parametrize("name", ["psnr", "ssim", "mae", "uiqi", "colorfulness", "delta_colorfulness"])
def test_keras_metric_wrappers_average_per_image_values(pair, name):
    pred, truth = pair
    batches = [(truth[None, :64, :64], pred[None, :64, :64]),
               (np.stack([truth[64:, :64], truth[64:, 64:128]]), np.stack([pred[64:, :64], pred[64:, 64:128]]))]
    metric = metrics.keras_metric(name)
    values = []
    for y_true, y_pred in batches:
        metric.update_state(y_true, y_pred)
        direct = {"colorfulness": lambda p, t: metrics.colorfulness(p),
                  **metrics.PER_IMAGE, "delta_colorfulness": metrics.delta_colorfulness}[name]
        values += list(np.atleast_1d(direct(y_pred, y_true).numpy()))
    assert len(values) == 3
    assert float(metric.result()) == pytest.approx(np.mean(values), rel=1e-5)
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.keras_metric("accuracy")


def _noisy(image, seed):
    rng = np.random.default_rng(seed)
    return np.clip(image.astype(int) + rng.integers(-25, 26, image.shape) + [9, -4, 0], 0, 255).astype(np.uint8)


def _skimage_values(pred, truth):
    return (skimage.metrics.peak_signal_noise_ratio(truth, pred, data_range=255),
            skimage.metrics.structural_similarity(truth, pred, data_range=255, channel_axis=-1,
                                                  gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


@pytest.mark.slow
def test_a_padded_batch_mixing_odd_sizes_gives_each_photo_its_own_values():
    source = photo("coffee")
    truths = [source[:37, :53], source[100:229, 7:300], source[50:61, 80:91], source[:90, :23], source[3:68, 5:70]]
    preds = [_noisy(t, i) for i, t in enumerate(truths)]
    pred_batch, sizes = metrics.padded_batch(preds)
    truth_batch, _ = metrics.padded_batch(truths)
    assert pred_batch.shape == (8, 192, 320, 3)  # 5 -> 8 images; 129 -> 192, 293 -> 320 (landscape)
    assert sizes[3].tolist() == [23, 90] and sizes[5:].tolist() == [[0, 0]] * 3  # portrait transposed
    values = {k: v.numpy() for k, v in metrics.image_metrics(pred_batch, truth_batch, sizes).items()}
    for i, (pred, truth) in enumerate(zip(preds, truths, strict=True)):
        expected_psnr, expected_ssim = _skimage_values(pred, truth)
        assert values["psnr"][i] == pytest.approx(expected_psnr, abs=1e-3)
        assert values["ssim"][i] == pytest.approx(expected_ssim, abs=1e-3)
        assert values["mae"][i] == pytest.approx(np.abs(pred.astype(float) - truth).mean(), abs=1e-3)
        assert values["uiqi"][i] == pytest.approx(uiqi_reference(pred, truth), abs=1e-4)
        r, g, b = (pred[..., c].astype(float) for c in range(3))
        rg, yb = r - g, (r + g) / 2 - b
        expected_cf = np.sqrt(rg.var() + yb.var()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        assert values["colorfulness"][i] == pytest.approx(expected_cf, rel=1e-4)
    padded_cf = float(metrics.colorfulness(truth_batch, sizes)[1])
    assert padded_cf == pytest.approx(float(metrics.colorfulness(truths[1])), rel=1e-5)


def test_padding_rules_by_hand():
    assert [metrics.padded_size(n) for n in (1, 17, 32, 33, 64, 65, 480, 481, 640, 1024)] == \
        [16, 32, 32, 64, 64, 128, 512, 512, 640, 1024]
    assert [metrics.padded_count(n) for n in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, 16]
    assert metrics.padded_shape([(480, 640, 3), (640, 427, 3)]) == (512, 640)


@pytest.mark.slow
def test_five_photo_sizes_trace_each_compiled_function_once():
    source = photo("astronaut")
    before = [f.experimental_get_tracing_count() for f in metrics.COMPILED]
    for height, width in ((40, 60), (129, 77), (256, 256), (300, 200), (61, 500)):
        truth = source[:height, :width]
        metrics.image_metrics(_noisy(truth, 0)[None], truth[None])
    after = [f.experimental_get_tracing_count() for f in metrics.COMPILED]
    assert all(a <= max(b, 1) for a, b in zip(after, before, strict=True)), (before, after)


def test_flat_windows_follow_the_edge_rules_in_a_padded_batch():
    flat = np.full((12, 10, 3), 100, np.uint8)
    half = flat // 2
    batch, sizes = metrics.padded_batch([flat, flat])
    truth, _ = metrics.padded_batch([flat, half])
    values = metrics.image_metrics(batch, truth, sizes)["uiqi"].numpy()
    assert values[0] == pytest.approx(1.0)
    assert values[1] == pytest.approx(uiqi_reference(flat, half))
