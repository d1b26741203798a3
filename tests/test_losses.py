"""tfcolor.gans.losses against hand-computed values (in the spirit of TF-GAN's tests)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfcolor.gans import losses


def softplus(x):
    return math.log1p(math.exp(x))


def test_vanilla_losses_hand_computed():
    real, fake = tf.constant([[2.0], [0.0]]), tf.constant([[-1.0], [3.0]])
    # BCE(1, z) = softplus(-z); BCE(0, z) = softplus(z)
    expected_d = 0.5 * ((softplus(-2.0) + softplus(0.0)) / 2 + (softplus(-1.0) + softplus(3.0)) / 2)
    expected_g = (softplus(1.0) + softplus(-3.0)) / 2
    assert float(losses.vanilla_discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(losses.vanilla_generator_loss(fake)) == pytest.approx(expected_g, rel=1e-6)


def test_vanilla_losses_on_probabilities_equal_logits_version():
    real, fake = tf.constant([0.3, -1.2, 2.0]), tf.constant([1.1, -0.4, 0.0])
    d_logits = losses.vanilla_discriminator_loss(real, fake)
    d_probs = losses.vanilla_discriminator_loss(tf.sigmoid(real), tf.sigmoid(fake), from_logits=False)
    assert float(d_probs) == pytest.approx(float(d_logits), rel=1e-5)
    g_probs = losses.vanilla_generator_loss(tf.sigmoid(fake), from_logits=False)
    assert float(g_probs) == pytest.approx(float(losses.vanilla_generator_loss(fake)), rel=1e-5)


def test_least_squares_losses_hand_computed():
    real, fake = tf.constant([1.5, 0.5]), tf.constant([0.5, -0.5])
    assert float(losses.least_squares_discriminator_loss(real, fake)) == pytest.approx(0.25)
    assert float(losses.least_squares_generator_loss(fake)) == pytest.approx((0.25 + 2.25) / 2)


def test_wasserstein_losses_hand_computed():
    real, fake = tf.constant([1.0, 2.0, 3.0]), tf.constant([0.0, 1.0])
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(0.5 - 2.0)
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(-0.5)


def test_reconstruction_losses_hand_computed():
    target, prediction = tf.constant([[1.0, -1.0], [0.5, 0.0]]), tf.constant([[0.0, 1.0], [0.5, -1.0]])
    assert float(losses.l1_loss(target, prediction)) == pytest.approx((1 + 2 + 0 + 1) / 4)
    assert float(losses.l2_loss(target, prediction)) == pytest.approx((1 + 4 + 0 + 1) / 4)


@pytest.mark.parametrize("loss", [
    losses.vanilla_generator_loss, losses.least_squares_generator_loss, losses.wasserstein_generator_loss,
])
def test_generator_losses_do_not_depend_on_the_patch_layout(loss):
    per_image = tf.constant([[0.7], [-1.3]])
    patches = tf.tile(tf.reshape(per_image, [2, 1, 1, 1]), [1, 30, 30, 1])
    assert float(loss(patches)) == pytest.approx(float(loss(per_image)), rel=1e-6)


@pytest.mark.parametrize("loss", [
    losses.vanilla_discriminator_loss, losses.least_squares_discriminator_loss,
    losses.wasserstein_critic_loss,
])
def test_discriminator_losses_do_not_depend_on_the_patch_layout(loss):
    real, fake = tf.constant([[0.2], [1.5]]), tf.constant([[-0.4], [0.9]])
    tile = lambda x: tf.tile(tf.reshape(x, [2, 1, 1, 1]), [1, 16, 16, 1])  # noqa: E731
    assert float(loss(tile(real), tile(fake))) == pytest.approx(float(loss(real, fake)), rel=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_exact():
    # critic(x) = 2x on 4 values per sample: gradient 2 everywhere, norm 4, penalty (4 - 1)^2 = 9.
    critic = lambda inputs, training=True: 2.0 * inputs[1]  # noqa: E731
    l = tf.zeros([2, 2, 2, 1])
    real = tf.constant([[-12.3, 23.2, 16.3, -43.2], [1.0, 2.0, 3.0, 4.0]])
    fake = tf.constant([[3.1, 2.3, -12.3, 32.1], [0.0, 0.0, 0.0, 0.0]])
    gp = losses.gradient_penalty(critic, l, tf.reshape(real, [2, 2, 2, 1]), tf.reshape(fake, [2, 2, 2, 1]))
    assert float(gp) == pytest.approx(9.0, rel=1e-6)


def test_gradient_penalty_of_a_quadratic_critic_matches_numpy():
    critic = lambda inputs, training=True: tf.reduce_sum(tf.square(inputs[1]), axis=[1, 2, 3])  # noqa: E731
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(3, 2, 2, 2)), rng.normal(size=(3, 2, 2, 2))
    alpha = np.array([0.0, 0.25, 1.0]).reshape(3, 1, 1, 1)
    x_hat = alpha * real + (1 - alpha) * fake
    norms = np.sqrt(np.sum((2 * x_hat) ** 2, axis=(1, 2, 3)) + 1e-10)
    expected = np.mean((norms - 1) ** 2)
    gp = losses.gradient_penalty(critic, tf.zeros([3, 2, 2, 1]), tf.constant(real, tf.float32),
                                 tf.constant(fake, tf.float32), alpha=tf.constant(alpha, tf.float32))
    assert float(gp) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_with_zero_gradient_is_one_not_nan():
    weight = tf.Variable(0.0)
    critic = lambda inputs, training=True: weight * tf.reduce_sum(inputs[1]) * 0.0  # noqa: E731
    ab = tf.ones([2, 4, 4, 2])
    with tf.GradientTape() as tape:
        gp = losses.gradient_penalty(critic, tf.zeros([2, 4, 4, 1]), ab, -ab)
    assert float(gp) == pytest.approx(1.0, abs=1e-4)  # (sqrt(1e-10) - 1)^2
    grad = tape.gradient(gp, weight)
    assert grad is None or np.isfinite(float(grad))


def test_gradient_penalty_draws_one_uniform_alpha_per_sample():
    seen = []

    def critic(inputs, training=True):
        seen.append(inputs[1])  # x_hat: with real = 1 and fake = 0 it equals alpha
        return tf.reduce_sum(inputs[1], axis=[1, 2, 3])

    tf.random.set_seed(0)
    losses.gradient_penalty(critic, tf.zeros([4096, 3, 3, 1]), tf.ones([4096, 3, 3, 2]), tf.zeros([4096, 3, 3, 2]))
    per_sample = seen[0].numpy().reshape(4096, -1)
    assert np.all(per_sample.max(1) == per_sample.min(1))  # one alpha per sample
    assert 0.0 <= per_sample.min() and per_sample.max() <= 1.0
    alpha = per_sample[:, 0]
    assert abs(alpha.mean() - 0.5) < 0.02 and abs(alpha.var() - 1 / 12) < 0.01  # U[0, 1], not N(0, 1)
