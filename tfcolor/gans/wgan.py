"""WGAN with weight clipping (Arjovsky, Chintala, Bottou 2017).

The critic maximises ``mean(D(real)) - mean(D(fake))`` (an estimate of the
Wasserstein-1 distance, logged as ``w_distance``) under a Lipschitz
constraint enforced by clipping every critic weight to [-c, c] after each
update (c = 0.01); ``n_critic = 5`` critic updates per generator update;
RMSprop(5e-5) for both, as in the paper. The generator also gets lambda * L1.
"""

import tensorflow as tf

from tfcolor.gans import losses
from tfcolor.gans.base import ColorGAN


def clip_weights(variables, clip_value):
    """Clips variables to [-clip_value, clip_value], also from a replica context."""

    def clip_all(strategy, variables):
        for variable in variables:
            variable = getattr(variable, "value", variable)  # the tf.Variable of a Keras Variable
            strategy.extended.update(
                variable, lambda v: v.assign(tf.clip_by_value(v, -clip_value, clip_value)), group=False
            )

    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context
        clip_all(tf.distribute.get_strategy(), variables)
    else:
        context.merge_call(clip_all, args=(variables,))


class WGAN(ColorGAN):
    EXTRA_METRICS = ("w_distance",)
    OPTIMIZER = ("rmsprop", 5e-5)
    N_CRITIC = 5

    def __init__(self, generator, discriminator, l1_weight=100.0, n_critic=None, clip_value=0.01, **kwargs):
        super().__init__(generator, discriminator, l1_weight=l1_weight, n_critic=n_critic, **kwargs)
        self.clip_value = clip_value

    def discriminator_loss(self, real_outputs, fake_outputs):
        return losses.wasserstein_critic_loss(real_outputs, fake_outputs)

    def generator_adversarial_loss(self, fake_outputs):
        return losses.wasserstein_generator_loss(fake_outputs)

    def discriminator_logs(self, real_outputs, fake_outputs):
        return {"w_distance": -losses.wasserstein_critic_loss(real_outputs, fake_outputs)}

    def after_discriminator_update(self):
        if self.clip_value:
            clip_weights(self.discriminator.trainable_variables, self.clip_value)
