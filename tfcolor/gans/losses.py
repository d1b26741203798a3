"""GAN and reconstruction losses as pure functions.

Discriminator outputs may have any shape (one logit per image, per patch or
per pixel): every loss averages over all elements, so a 30x30 PatchGAN and a
per-image critic are treated alike. Names follow TF-GAN:
``<family>_generator_loss`` / ``<family>_discriminator_loss``.

Each function returns the mean over the (per-replica) batch. Under a
tf.distribute strategy the caller divides by ``num_replicas_in_sync`` before
taking gradients, since gradients are summed across replicas.
"""

import tensorflow as tf

from tfcolor.core.ab_bins import GRID
from tfcolor.core.color import AB_SCALE


def _bce(labels_value, outputs, from_logits):
    labels = tf.fill(tf.shape(outputs), tf.cast(labels_value, outputs.dtype))
    if from_logits:
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=outputs))
    outputs = tf.clip_by_value(outputs, 1e-7, 1.0 - 1e-7)
    return -tf.reduce_mean(labels * tf.math.log(outputs) + (1.0 - labels) * tf.math.log(1.0 - outputs))


def vanilla_generator_loss(fake_outputs, from_logits=True):
    """Non-saturating GAN loss (Goodfellow et al. 2014): -log D(G(z)), as BCE with label 1."""
    return _bce(1.0, tf.cast(fake_outputs, tf.float32), from_logits)


def vanilla_discriminator_loss(real_outputs, fake_outputs, from_logits=True):
    """0.5 * [BCE(1, D(real)) + BCE(0, D(fake))] (the 0.5 slows D as in pix2pix)."""
    real = _bce(1.0, tf.cast(real_outputs, tf.float32), from_logits)
    fake = _bce(0.0, tf.cast(fake_outputs, tf.float32), from_logits)
    return 0.5 * (real + fake)


def least_squares_generator_loss(fake_outputs):
    """LSGAN (Mao et al. 2017): mean((D(G(z)) - 1)^2)."""
    return tf.reduce_mean(tf.square(tf.cast(fake_outputs, tf.float32) - 1.0))


def least_squares_discriminator_loss(real_outputs, fake_outputs):
    """LSGAN: 0.5 * [mean((D(real) - 1)^2) + mean(D(fake)^2)]."""
    real = tf.reduce_mean(tf.square(tf.cast(real_outputs, tf.float32) - 1.0))
    fake = tf.reduce_mean(tf.square(tf.cast(fake_outputs, tf.float32)))
    return 0.5 * (real + fake)


def wasserstein_generator_loss(fake_outputs):
    """WGAN (Arjovsky et al. 2017): -mean(D(G(z)))."""
    return -tf.reduce_mean(tf.cast(fake_outputs, tf.float32))


def wasserstein_critic_loss(real_outputs, fake_outputs):
    """WGAN critic: mean(D(fake)) - mean(D(real)); its negative estimates the distance."""
    return tf.reduce_mean(tf.cast(fake_outputs, tf.float32)) - tf.reduce_mean(
        tf.cast(real_outputs, tf.float32)
    )


def l1_loss(target, prediction):
    """mean(|target - prediction|)."""
    return tf.reduce_mean(tf.abs(tf.cast(target, tf.float32) - tf.cast(prediction, tf.float32)))


def l2_loss(target, prediction):
    """mean((target - prediction)^2)."""
    return tf.reduce_mean(tf.square(tf.cast(target, tf.float32) - tf.cast(prediction, tf.float32)))


def interpolate(real, fake, alpha):
    """alpha * real + (1 - alpha) * fake, alpha broadcast per sample."""
    return alpha * real + (1.0 - alpha) * fake


def gradient_penalty(critic, l, real_ab, fake_ab, alpha=None, epsilon=1e-10, training=True):
    """WGAN-GP penalty (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2].

    ``x_hat`` interpolates real and fake ab with **one alpha ~ U[0, 1] per
    sample** (not a normal draw), the condition L held fixed. For patch
    critics the gradient is that of the sum of the sample's outputs (as in
    TF-GAN and pix2pix's code), and ``epsilon`` sits inside the square root so
    a zero gradient does not give NaN.

    Args:
      critic: callable ``critic([l, ab], training=...)``.
      l, real_ab, fake_ab: ``[B, H, W, C]`` tensors.
      alpha: optional ``[B, 1, 1, 1]`` interpolation weights (drawn if None).

    Returns:
      Scalar penalty (mean over the batch), to be multiplied by lambda_GP.
    """
    l = tf.convert_to_tensor(l)
    real_ab = tf.cast(real_ab, tf.float32)
    fake_ab = tf.cast(fake_ab, tf.float32)
    if alpha is None:
        alpha = tf.random.uniform([tf.shape(real_ab)[0], 1, 1, 1], 0.0, 1.0)
    x_hat = interpolate(real_ab, fake_ab, alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        outputs = tf.cast(critic([l, x_hat], training=training), tf.float32)
    grads = tape.gradient(outputs, x_hat)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=tf.range(1, tf.rank(grads))) + epsilon)
    return tf.reduce_mean(tf.square(norms - 1.0))


# ----- terms against sepia and wrong colours (generator side, all optional) -------------------

def colorfulness(rgb, epsilon=1e-6):
    """Hasler & Suesstrunk's colourfulness per image, differentiable: RGB ``[B, H, W, 3]`` in
    [0, 1], computed on the 0..255 scale, ``sqrt(var(rg) + var(yb)) + 0.3 * sqrt(mean(rg)^2 +
    mean(yb)^2)`` with rg = R - G, yb = (R + G) / 2 - B (population variance, as
    :func:`tfcolor.eval.metrics.colorfulness`). ``epsilon`` inside each square root keeps the
    gradient finite on gray images."""
    rgb = 255.0 * tf.cast(rgb, tf.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    mean_rg, var_rg = tf.nn.moments(rg, axes=[1, 2])
    mean_yb, var_yb = tf.nn.moments(yb, axes=[1, 2])
    return tf.sqrt(var_rg + var_yb + epsilon) + 0.3 * tf.sqrt(mean_rg ** 2 + mean_yb ** 2 + epsilon)


def colorfulness_loss(pred_rgb, truth_rgb):
    """Saturation-aware colourfulness term: ``mean(max(C(truth) - C(pred), 0)) / 100``.

    DDColor (Kang et al. 2023) adds ``1 - C(pred) / 100`` to fight dull, sepia output; this
    one pushes only up to the real photo's colourfulness, so it cannot reward colours more
    saturated than the truth. 0 when the prediction is at least as colourful."""
    gap = colorfulness(truth_rgb) - colorfulness(pred_rgb)
    return tf.reduce_mean(tf.nn.relu(gap)) / 100.0


def _bin_weight(target_ab, bin_weights, grid, ab_scale):
    """``[B, H, W]`` weight of the grid cell each target colour falls in (edge cells outside)."""
    bin_weights = tf.convert_to_tensor(bin_weights, tf.float32)
    n = tf.shape(bin_weights)[0]
    index = tf.cast(tf.floor(target_ab * ab_scale / grid), tf.int32) + n // 2
    return tf.gather_nd(bin_weights, tf.clip_by_value(index, 0, n - 1))


def rebalanced_l1_loss(target_ab, pred_ab, bin_weights, grid=GRID, ab_scale=AB_SCALE):
    """Class-rebalanced L1 (the idea of Zhang et al. 2016 applied to L1): each pixel's
    ``|target - pred|`` (both ab channels) is weighted by the weight of the ab bin its *target*
    colour falls in, so rare saturated colours count as much as the common grays and browns.

    Args:
      target_ab, pred_ab: normalised ab ``[B, H, W, 2]`` (natural units / ``ab_scale``).
      bin_weights: ``[n, n]`` weights over a grid of ``grid``-wide bins covering
        ``[-n * grid / 2, n * grid / 2)`` in a and b (from :func:`tfcolor.gans.rebalance.weights`).
    Returns:
      ``mean(w(bin(target)) * |target - pred|)``.
    """
    target_ab = tf.cast(target_ab, tf.float32)
    pred_ab = tf.cast(pred_ab, tf.float32)
    weights = _bin_weight(target_ab, bin_weights, grid, ab_scale)
    return tf.reduce_mean(weights[..., None] * tf.abs(target_ab - pred_ab))


def soft_encode(target_ab, centres, sigma=5.0, ab_scale=AB_SCALE):
    """Soft encoding of true colours over the colour classes (Zhang et al. 2016): each class
    weighted by a Gaussian (``sigma`` ab units) of its centre's distance to the pixel's colour,
    normalised to sum 1. (The paper keeps only the 5 nearest classes; here every class keeps its
    weight, 93-100 % of which falls on the 5 nearest, and no sort is needed.)

    Args:
      target_ab: normalised ab ``[..., 2]``.
      centres: ``[Q, 2]`` class centres in natural units (tfcolor.core.ab_bins.gamut_centres).
    Returns:
      ``[N, Q]`` weights over the ``N`` pixels.
    """
    target = tf.reshape(tf.cast(target_ab, tf.float32) * ab_scale, [-1, 2])
    centres = tf.convert_to_tensor(centres, tf.float32)
    distance2 = (tf.reduce_sum(tf.square(target), -1, keepdims=True) - 2.0 * tf.matmul(target, centres, transpose_b=True)
                 + tf.reduce_sum(tf.square(centres), -1)[None])
    return tf.nn.softmax(-distance2 / (2.0 * sigma * sigma), axis=-1)


def class_cross_entropy(target_ab, logits, centres, bin_weights=None, sigma=5.0, grid=GRID, ab_scale=AB_SCALE):
    """Zhang et al.'s classification loss: the cross-entropy between the soft-encoded true colour
    (:func:`soft_encode`) and the predicted class distribution ``softmax(logits)``, averaged over
    pixels, each pixel weighted by the rarity of its true colour when ``bin_weights`` are given
    (the ``[n, n]`` grid weights of :func:`tfcolor.gans.rebalance.weights`).

    Args:
      target_ab: normalised ab ``[B, H, W, 2]``.
      logits: ``[B, H / s, W / s, Q]`` class logits, one per ``s`` x ``s`` pixels (s >= 1): the
        true ab is averaged over those pixels first.
      centres: ``[Q, 2]`` class centres in natural units.
    """
    target_ab = tf.cast(target_ab, tf.float32)
    stride = target_ab.shape[1] // logits.shape[1]
    if stride > 1:
        target_ab = tf.nn.avg_pool2d(target_ab, stride, stride, "VALID")
    centres = tf.convert_to_tensor(centres, tf.float32)
    logits = tf.reshape(tf.cast(logits, tf.float32), [-1, tf.shape(centres)[0]])
    encoded = tf.stop_gradient(soft_encode(target_ab, centres, sigma, ab_scale))
    cross_entropy = -tf.reduce_sum(encoded * tf.nn.log_softmax(logits, axis=-1), axis=-1)
    if bin_weights is not None:
        cross_entropy *= tf.reshape(_bin_weight(target_ab, bin_weights, grid, ab_scale), [-1])
    return tf.reduce_mean(cross_entropy)


def perceptual_loss(features_pred, features_truth):
    """Perceptual (feature) term of Johnson et al. 2016 with L1: the sum over the feature maps
    of ``mean(|f(pred) - f(truth)|)``; the lists come from a fixed network such as
    :class:`tfcolor.models.vgg.VGGFeatures`."""
    total = 0.0
    for fp, ft in zip(features_pred, features_truth, strict=True):
        total += tf.reduce_mean(tf.abs(tf.cast(fp, tf.float32) - tf.cast(ft, tf.float32)))
    return total
