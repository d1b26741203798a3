"""Image-quality metrics of colourisation, always on RGB images as a user sees them.

Every function takes RGB images [..., H, W, 3]: uint8 in [0, 255] or float in [0, 1]. Anything
else is refused with ValueError (or InvalidArgument inside a graph): in particular Lab
tensors (L up to 100, or the networks' normalised L/50 - 1 and ab/110 with negative values),
so that a metric can never silently be computed on Lab numbers. Per-image results have shape
[...] (one value per image).

* ``psnr`` (dB, peak 1.0 on [0, 1] = peak 255 on 0..255) and ``ssim`` (tf.image: Gaussian
  window 11, sigma 1.5, k1 0.01, k2 0.03), ``mae`` on the 0..255 scale.
* ``uiqi``: universal image quality index (Wang & Bovik 2002), 8x8 sliding window, mean over
  windows and channels.
* ``colorfulness`` (Hasler & Suesstrunk 2003) on 0..255; ``delta_colorfulness``.
* ``keras_metric(name)``: the per-image metrics as Keras metrics (mean over images).
* ``frechet_distance`` of two Gaussians (FID once fed Inception features, see
  tfcolor/perceptual.py), with the usual numerical safeguards.
"""

import numpy as np
import tensorflow as tf


def to_unit_rgb(images):
    """uint8 or float [0, 1] RGB -> float32 [0, 1]; refuses anything that is not RGB."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank is None or images.shape.rank < 3 or images.shape[-1] != 3:
        raise ValueError(f"expected RGB images [..., H, W, 3], got shape {images.shape}")
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 255.0
    if not images.dtype.is_floating:
        raise ValueError(f"expected uint8 or float RGB, got {images.dtype.name}")
    images = tf.cast(images, tf.float32)
    low, high = tf.reduce_min(images), tf.reduce_max(images)
    message = ("metrics take RGB in [0, 1] (float) or [0, 255] (uint8); these values look like "
               "Lab or normalised Lab: convert with tfcolor.color.lab_to_rgb first")
    if tf.executing_eagerly():
        if float(low) < -1e-3 or float(high) > 1.0 + 1e-3:
            raise ValueError(f"{message} (range [{float(low):.3g}, {float(high):.3g}])")
        return tf.clip_by_value(images, 0.0, 1.0)
    checks = [tf.debugging.assert_greater_equal(low, -1e-3, message=message),
              tf.debugging.assert_less_equal(high, 1.0 + 1e-3, message=message)]
    with tf.control_dependencies(checks):
        return tf.clip_by_value(images, 0.0, 1.0)


def psnr(pred, truth):
    return tf.image.psnr(to_unit_rgb(pred), to_unit_rgb(truth), max_val=1.0)


def ssim(pred, truth):
    return tf.image.ssim(to_unit_rgb(pred), to_unit_rgb(truth), max_val=1.0)


def mae(pred, truth):
    """Mean absolute error on the 0..255 scale."""
    diff = tf.abs(to_unit_rgb(pred) - to_unit_rgb(truth)) * 255.0
    return tf.reduce_mean(diff, axis=[-3, -2, -1])


def uiqi(pred, truth, window=8):
    """Universal image quality index Q (Wang & Bovik 2002) in [-1, 1], 1 for identical images.

    Q = 4 cov(x, y) mean(x) mean(y) / ((var(x) + var(y)) (mean(x)^2 + mean(y)^2)) in every
    ``window`` x ``window`` window (stride 1), averaged over windows and the three channels.
    Windows where a denominator vanishes follow the original code: Q = 1 where both factors
    are 0 (two equal flat windows), 2 mean(x) mean(y) / (mean(x)^2 + mean(y)^2) where only
    the variances are 0."""
    x = to_unit_rgb(pred) * 255.0
    y = to_unit_rgb(truth) * 255.0
    shape = tf.shape(x)
    x = tf.reshape(x, tf.concat([[-1], shape[-3:]], 0))
    y = tf.reshape(y, tf.concat([[-1], shape[-3:]], 0))

    def mean(t):
        return tf.nn.avg_pool2d(t, window, 1, "VALID")

    mx, my = mean(x), mean(y)
    n = float(window * window)
    # Unbiased (N - 1) variances, as in the paper's definition.
    vx = (mean(x * x) - mx * mx) * n / (n - 1)
    vy = (mean(y * y) - my * my) * n / (n - 1)
    cxy = (mean(x * y) - mx * my) * n / (n - 1)
    variance_term = vx + vy
    mean_term = mx * mx + my * my
    q = tf.where(
        variance_term * mean_term > 0, 4 * cxy * mx * my / tf.maximum(variance_term * mean_term, 1e-12),
        tf.where(mean_term > 0, 2 * mx * my / tf.maximum(mean_term, 1e-12), tf.ones_like(mx)))
    return tf.reshape(tf.reduce_mean(q, axis=[1, 2, 3]), shape[:-3])


def colorfulness(images):
    """Hasler & Suesstrunk (2003) colourfulness M on the 0..255 scale: 0 for gray images.

    rg = R - G, yb = (R + G) / 2 - B; M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 +
    mean(yb)^2), over the pixels of each image (population standard deviations)."""
    rgb = to_unit_rgb(images) * 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    axes = [-2, -1]
    std = tf.sqrt(tf.math.reduce_variance(rg, axes) + tf.math.reduce_variance(yb, axes))
    mean = tf.sqrt(tf.reduce_mean(rg, axes) ** 2 + tf.reduce_mean(yb, axes) ** 2)
    return std + 0.3 * mean


def delta_colorfulness(pred, truth):
    """Colourfulness of the prediction minus the truth's, per image: negative when the
    colours came out washed out (sepia, gray), positive when they are overdone."""
    return colorfulness(pred) - colorfulness(truth)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 sqrt(S1 S2)): the Frechet distance of two Gaussians.

    Safeguards: when sqrt(S1 S2) is singular or not finite, eps is added to both diagonals;
    a complex square root whose imaginary part is rounding noise is made real (larger
    imaginary parts raise ValueError)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shapes differ: {mu1.shape} / {mu2.shape}, {sigma1.shape} / {sigma2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"imaginary part {np.max(np.abs(covmean.imag)):.3g} in the matrix square root")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def feature_statistics(features):
    """Mean and covariance (N - 1) of features [N, D]."""
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


PER_IMAGE = {"psnr": psnr, "ssim": ssim, "mae": mae, "uiqi": uiqi}


def keras_metric(name):
    """A Keras metric averaging ``name`` (psnr, ssim, mae, uiqi, colorfulness of y_pred,
    delta_colorfulness) per image over every RGB batch it is given.

    >>> m = keras_metric("psnr")
    >>> m.update_state(truth_rgb, predicted_rgb)   # Keras order: (y_true, y_pred)
    >>> m.result()
    """
    import keras

    functions = {**PER_IMAGE, "colorfulness": lambda pred, truth: colorfulness(pred),
                 "delta_colorfulness": delta_colorfulness}
    if name not in functions:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(sorted(functions))}")
    fn = functions[name]

    class _Metric(keras.metrics.Mean):
        def update_state(self, y_true, y_pred, sample_weight=None):
            return super().update_state(fn(y_pred, y_true), sample_weight=sample_weight)

    return _Metric(name=name)
