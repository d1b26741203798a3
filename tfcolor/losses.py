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
