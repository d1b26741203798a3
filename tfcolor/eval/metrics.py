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
  tfcolor/eval/perceptual.py), through symmetric eigendecompositions.

Speed: the per-image metrics run as a few XLA computations on batches (``image_metrics``):
SSIM's Gaussian and UIQI's box windows as separable sums of shifted slices
(tfcolor/eval/filtering.py), ~100 ms for all of them on a 1024x640 photo and its gray floor on 2
CPU cores, ~70x the per-photo eager ops before (bench/README.md). A batch may mix sizes:
``padded_batch`` pads each photo to one of a few bucket sizes and the sizes mask the padding,
so values equal the single-photo ones and XLA compiles once per bucket shape (~1 s each).
"""

import numpy as np
import tensorflow as tf

from tfcolor.core.color import check_rgb, to_unit_rgb  # noqa: F401 (to_unit_rgb: part of the metrics API)
from tfcolor.eval import filtering

SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
UIQI_WINDOW = 8


def _to_255(images):
    """RGB images -> float32 on the 0..255 scale (uint8 values stay exact integers)."""
    images = check_rgb(images)
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32)
    return to_unit_rgb(images) * 255.0


def _pixel_mask(sizes, height, width, margin=0):
    """[N, 1, height, width] float32: 1 inside each image's (h - margin, w - margin) top-left
    region, 0 in the padding. With margin = window - 1 it marks the windows (by their top-left
    corner) that lie inside the image."""
    rows = tf.range(height)[None, :, None] < sizes[:, 0, None, None] - margin
    cols = tf.range(width)[None, None, :] < sizes[:, 1, None, None] - margin
    return tf.cast(tf.logical_and(rows, cols), tf.float32)[:, None]


def _image_mask(planes, sizes, margin=0):
    return _pixel_mask(sizes, tf.shape(planes)[2], tf.shape(planes)[3], margin)


def _masked_mean(values, sizes, margin=0):
    """Mean of ``values`` [N, C, H, W] over C and the positions inside each image (the
    top-left (h - margin) x (w - margin) region; padding ignored). The count comes from the
    sizes: summing the mask too made the reduction 3x slower."""
    mask = _image_mask(values, sizes, margin)
    extent = tf.maximum(sizes - margin, 0)
    count = tf.cast(extent[:, 0] * extent[:, 1] * tf.shape(values)[1], tf.float32)
    return tf.reduce_sum(values * mask, axis=[1, 2, 3]) / count


# The compiled core works on planes [N, 3, H, W] on the 0..255 scale (see tfcolor/eval/filtering.py
# for why planes). Each metric is one or two XLA computations, compiled once per input shape;
# the signatures take any batch and size, so each function traces once.
_PLANES = tf.TensorSpec([None, 3, None, None], tf.float32)
_SIZES = tf.TensorSpec([None, 2], tf.int32)


@tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)], jit_compile=True)
def _to_planes(images):
    return tf.transpose(images, [0, 3, 1, 2])


@tf.function(autograph=False, input_signature=[_PLANES, _PLANES, _SIZES], jit_compile=True)
def _errors(x, y, sizes):
    """Mean squared and mean absolute error per image, on 0..255."""
    diff = (x - y) * _image_mask(x, sizes)
    return _masked_mean(diff * diff, sizes), _masked_mean(tf.abs(diff), sizes)


@tf.function(autograph=False, input_signature=[_PLANES, _SIZES], jit_compile=True)
def _colorfulness(x, sizes):
    mask = _image_mask(x, sizes)[:, 0]
    count = tf.cast(sizes[:, 0] * sizes[:, 1], tf.float32)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    variance, means = 0.0, []
    for channel in (r - g, 0.5 * (r + g) - b):
        mean = tf.reduce_sum(channel * mask, axis=[1, 2]) / count
        centred = (channel - mean[:, None, None]) * mask
        variance += tf.reduce_sum(centred * centred, axis=[1, 2]) / count  # population variance
        means.append(mean)
    return tf.sqrt(variance) + 0.3 * tf.sqrt(means[0] ** 2 + means[1] ** 2)


_GAUSSIAN = filtering.gaussian_taps(SSIM_WINDOW, SSIM_SIGMA)
_BOX = filtering.box_taps(UIQI_WINDOW)


@tf.function(autograph=False, input_signature=[_PLANES, _PLANES], jit_compile=True)
def _ssim_rows(x, y):
    x, y = x / 255.0, y / 255.0
    return tuple(filtering.filter_rows(m, _GAUSSIAN) for m in (x, y, x * y, x * x + y * y))


@tf.function(autograph=False, input_signature=[_PLANES] * 4 + [_SIZES], jit_compile=True)
def _ssim_finish(x, y, xy, squares, sizes):
    mean_x, mean_y, mean_xy, mean_squares = (filtering.filter_columns(m, _GAUSSIAN) for m in (x, y, xy, squares))
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2  # on the [0, 1] scale (max_val 1)
    num0 = 2.0 * mean_x * mean_y
    den0 = mean_x * mean_x + mean_y * mean_y
    luminance = (num0 + c1) / (den0 + c1)
    contrast_structure = (2.0 * mean_xy - num0 + c2) / (mean_squares - den0 + c2)
    return _masked_mean(luminance * contrast_structure, sizes, SSIM_WINDOW - 1)


@tf.function(autograph=False, input_signature=[_PLANES, _PLANES], jit_compile=True)
def _uiqi_rows(x, y):
    # Centred at 128 so that window sums of squares stay exact float32 integers for uint8
    # photos (flat windows then have variance exactly 0, as the edge rules need).
    a, b = x - 128.0, y - 128.0
    return tuple(filtering.filter_rows(m, _BOX) for m in (a, b, a * a, b * b, a * b))


@tf.function(autograph=False, input_signature=[_PLANES] * 5 + [_SIZES], jit_compile=True)
def _uiqi_finish(a, b, aa, bb, ab, sizes):
    n = float(UIQI_WINDOW * UIQI_WINDOW)
    sum_a, sum_b, sum_aa, sum_bb, sum_ab = (filtering.filter_columns(m, _BOX) for m in (a, b, aa, bb, ab))
    mean_x, mean_y = sum_a / n + 128.0, sum_b / n + 128.0
    # Unbiased (N - 1) variances, as in the paper's definition.
    var_x = (sum_aa - sum_a * sum_a / n) / (n - 1.0)
    var_y = (sum_bb - sum_b * sum_b / n) / (n - 1.0)
    cov = (sum_ab - sum_a * sum_b / n) / (n - 1.0)
    variance_term = var_x + var_y
    mean_term = mean_x * mean_x + mean_y * mean_y
    q = tf.where(variance_term * mean_term > 0,
                 4.0 * cov * mean_x * mean_y / tf.maximum(variance_term * mean_term, 1e-12),
                 tf.where(mean_term > 0, 2.0 * mean_x * mean_y / tf.maximum(mean_term, 1e-12),
                          tf.ones_like(mean_x)))
    return _masked_mean(q, sizes, UIQI_WINDOW - 1)


def _ssim(x, y, sizes):
    return _ssim_finish(*_ssim_rows(x, y), sizes)


def _uiqi(x, y, sizes):
    return _uiqi_finish(*_uiqi_rows(x, y), sizes)


COMPILED = (_to_planes, _errors, _colorfulness, _ssim_rows, _ssim_finish, _uiqi_rows, _uiqi_finish)


def _flat(images, sizes):
    """[..., H, W, 3] -> (planes [N, 3, H', W'] on 0..255, sizes [N, 2], leading shape).

    Where H and W are known, they are padded to padded_size (the sizes mask the padding), so
    calls on photos of many sizes compile a bounded number of times."""
    x = _to_255(images)
    shape = tf.shape(x)
    x = tf.reshape(x, tf.concat([[-1], shape[-3:]], 0))
    if sizes is None:
        sizes = tf.tile(tf.reshape(shape[-3:-1], [1, 2]), [tf.shape(x)[0], 1])
    height, width = x.shape[1], x.shape[2]
    if height is not None and width is not None:
        x = tf.pad(x, [[0, 0], [0, padded_size(height) - height], [0, padded_size(width) - width], [0, 0]])
    return _to_planes(x), tf.reshape(tf.cast(sizes, tf.int32), [-1, 2]), shape[:-3]


def image_metrics(pred, truth, sizes=None):
    """Every per-image metric of a batch at once.

    Args:
      pred, truth: RGB [N, H, W, 3] (uint8, or float in [0, 1]).
      sizes: optional int [N, 2], the (height, width) of each image from the top-left corner;
        pixels beyond are padding and ignored, so one batch can mix photos of several sizes.

    Returns:
      dict of float32 [N]: psnr, ssim, mae, uiqi, colorfulness (of pred). A photo smaller
      than a metric's window (11 for SSIM, 8 for UIQI) gets NaN there.
    """
    x, n_sizes, _ = _flat(pred, sizes)
    y, _, _ = _flat(truth, sizes)
    mse, mean_abs = _errors(x, y, n_sizes)
    return {"psnr": _psnr_from_mse(mse), "ssim": _ssim(x, y, n_sizes), "mae": mean_abs,
            "uiqi": _uiqi(x, y, n_sizes), "colorfulness": _colorfulness(x, n_sizes)}


def padded_size(n):
    """The padded length of an image side of n pixels: the next power of two up to 64, then
    the next multiple of 64. Few distinct sizes, so XLA compiles few times (one per padded
    shape), for at most ~10 % padding on photos of 640 px and more."""
    return max(16, 1 << (n - 1).bit_length()) if n <= 64 else -(-n // 64) * 64


def padded_count(n):
    """Batch length for n images: the next power of two (empty images fill it)."""
    return 1 << max(n - 1, 0).bit_length()


def _landscape(shape):
    return (shape[1], shape[0]) if shape[0] > shape[1] else (shape[0], shape[1])


def padded_shape(shapes):
    """(height, width) of the padded batch holding images of these shapes (see padded_batch)."""
    heights, widths = zip(*(_landscape(s) for s in shapes), strict=True)
    return padded_size(max(heights)), padded_size(max(widths))


def padded_batch(images):
    """Images of any sizes -> (one zero-padded batch [padded_count(N), H, W, 3], sizes [.., 2]).

    Portrait images are transposed to landscape first: every per-image metric here is the same
    on a transposed pair (square windows, symmetric Gaussian), and fewer padded shapes occur.
    Use the same call order for predictions and truths so that they line up."""
    height, width = padded_shape([image.shape for image in images])
    batch = np.zeros((padded_count(len(images)), height, width, 3), np.asarray(images[0]).dtype)
    sizes = np.zeros((len(batch), 2), np.int32)
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.shape[0] > image.shape[1]:
            image = image.transpose(1, 0, 2)
        batch[i, :image.shape[0], :image.shape[1]] = image
        sizes[i] = image.shape[:2]
    return batch, sizes


def _psnr_from_mse(mse):
    return 10.0 * tf.math.log(255.0 * 255.0 / mse) / tf.math.log(10.0)


def _per_image(fn, pred, truth):
    x, sizes, leading = _flat(pred, None)
    y, _, _ = _flat(truth, None)
    return tf.reshape(fn(x, y, sizes), leading)


def psnr(pred, truth):
    """Peak signal-to-noise ratio in dB (peak 255 on 0..255 = peak 1 on [0, 1])."""
    return _per_image(lambda x, y, s: _psnr_from_mse(_errors(x, y, s)[0]), pred, truth)


def ssim(pred, truth):
    """SSIM as tf.image.ssim: Gaussian window 11, sigma 1.5, k1 0.01, k2 0.03, mean over the
    windows inside the image and the channels."""
    return _per_image(_ssim, pred, truth)


def mae(pred, truth):
    """Mean absolute error on the 0..255 scale."""
    return _per_image(lambda x, y, s: _errors(x, y, s)[1], pred, truth)


def uiqi(pred, truth, window=UIQI_WINDOW):
    """Universal image quality index Q (Wang & Bovik 2002) in [-1, 1], 1 for identical images.

    Q = 4 cov(x, y) mean(x) mean(y) / ((var(x) + var(y)) (mean(x)^2 + mean(y)^2)) in every
    8 x 8 window (stride 1), averaged over windows and the three channels.
    Windows where a denominator vanishes follow the original code: Q = 1 where both factors
    are 0 (two equal flat windows), 2 mean(x) mean(y) / (mean(x)^2 + mean(y)^2) where only
    the variances are 0."""
    if window != UIQI_WINDOW:
        raise ValueError(f"uiqi is defined here for the paper's {UIQI_WINDOW}x{UIQI_WINDOW} window")
    return _per_image(_uiqi, pred, truth)


def colorfulness(images, sizes=None):
    """Hasler & Suesstrunk (2003) colourfulness M on the 0..255 scale: 0 for gray images.

    rg = R - G, yb = (R + G) / 2 - B; M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 +
    mean(yb)^2), over the pixels of each image (population standard deviations). ``sizes``
    as in image_metrics, for padded batches."""
    x, sizes, leading = _flat(images, sizes)
    return tf.reshape(_colorfulness(x, sizes), leading)


def delta_colorfulness(pred, truth):
    """Colourfulness of the prediction minus the truth's, per image: negative when the
    colours came out washed out (sepia, gray), positive when they are overdone."""
    return colorfulness(pred) - colorfulness(truth)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 sqrt(S1 S2)): the Frechet distance of two Gaussians.

    tr sqrt(S1 S2) is the sum of the square roots of the eigenvalues of S1^1/2 S2 S1^1/2,
    which is symmetric positive semi-definite with the eigenvalues of S1 S2: two symmetric
    eigendecompositions instead of a general matrix square root (5-7x faster at Inception's
    2048 dimensions, no complex round-off, singular covariances need no offset); eigenvalues
    that round-off makes slightly negative count as 0."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shapes differ: {mu1.shape} / {mu2.shape}, {sigma1.shape} / {sigma2.shape}")
    if not all(np.isfinite(x).all() for x in (mu1, sigma1, mu2, sigma2)):
        raise ValueError("the means and covariances must be finite")
    values, vectors = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    inner = root @ sigma2 @ root
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root)


def frechet_distance_of_features(features1, features2):
    """The Frechet distance of the Gaussians fitted to two feature sets ``[N1, D]`` and
    ``[N2, D]`` (N >= 2 each; covariances with N - 1), as FID computes it.

    With fewer samples than dimensions (an evaluation of a few dozen photos against Inception's
    2048 features) it never forms a D x D matrix: with A and B the centred features divided by
    sqrt(N - 1), S1 = A^T A and S2 = B^T B, so tr S1 = ||A||^2, tr S2 = ||B||^2, and S1 S2 has
    the nonzero eigenvalues of (A B^T)(A B^T)^T, whence tr sqrt(S1 S2) is the sum of the singular
    values of the N1 x N2 matrix A B^T. Exact, and milliseconds instead of seconds. Otherwise
    :func:`frechet_distance` of :func:`feature_statistics`."""
    a, b = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two feature sets [N >= 2, D] of one D, got {a.shape} and {b.shape}")
    if max(len(a), len(b)) >= a.shape[1]:
        return frechet_distance(*feature_statistics(a), *feature_statistics(b))
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the features must be finite")
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    a, b = (a - mu1) / np.sqrt(len(a) - 1), (b - mu2) / np.sqrt(len(b) - 1)
    trace_root = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.sum(a * a) + np.sum(b * b) - 2.0 * trace_root)


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
