"""WGAN-GP (Gulrajani et al. 2017): Wasserstein losses + lambda_GP * gradient penalty.

No weight clipping: the critic's gradient norm on random interpolates between
real and fake ab is pushed to 1 (:func:`tfcolor.gans.losses.gradient_penalty`,
computed with a nested ``tf.GradientTape``), lambda_GP = 10, n_critic = 5,
Adam(1e-4, beta_1=0.5, beta_2=0.9). The penalty is per sample, so the
critic must not use BatchNorm (which couples the samples of a batch): use
layer, instance, spectral or no normalisation.
"""

import tensorflow as tf

from tfcolor.gans import losses
from tfcolor.gans.base import has_batchnorm
from tfcolor.gans.wgan import WGAN


class WGANGP(WGAN):
    EXTRA_METRICS = ("w_distance", "gp")
    OPTIMIZER = ("adam", 1e-4, 0.5, 0.9)

    def __init__(self, generator, discriminator, l1_weight=100.0, n_critic=None, gp_weight=10.0, **kwargs):
        if has_batchnorm(discriminator):
            raise ValueError(
                "WGAN-GP needs a critic without BatchNorm (the gradient penalty is per sample); "
                "build the discriminator with norm='layer', 'instance', 'spectral' or 'none'"
            )
        super().__init__(generator, discriminator, l1_weight=l1_weight, n_critic=n_critic,
                         clip_value=None, **kwargs)
        self.gp_weight = float(gp_weight)

    def interpolation_weights(self, batch_size):
        """One alpha ~ U[0, 1] per sample."""
        return tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)

    def discriminator_penalty(self, l, real_ab, fake_ab):
        alpha = self.interpolation_weights(tf.shape(real_ab)[0])
        gp = losses.gradient_penalty(self.discriminator, l, real_ab, fake_ab, alpha=alpha)
        return self.gp_weight * gp, {"gp": gp}
