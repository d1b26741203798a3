"""The one training loop shared by every GAN objective (template method).

:class:`ColorGAN` owns ``train_step``: ``n_critic - 1`` discriminator-only
steps, then one *joint* step in which a single generator forward and a single
discriminator forward on real and fake give both the discriminator gradients
and the generator gradients (no discriminator pass is computed twice). A
subclass supplies only its pieces:

* ``discriminator_loss(real_outputs, fake_outputs)``
* ``generator_adversarial_loss(fake_outputs)``
* ``discriminator_penalty(l, real_ab, fake_ab)`` (optional, e.g. the gradient penalty)
* ``after_discriminator_update()`` (optional, e.g. weight clipping)
* ``default_optimizers()``

Data: batches of ``(L, ab)`` normalised as in :mod:`tfcolor.core.color`; for a hint generator
the first tensor is its whole input (L, then the hint channels: tfcolor.models.hint_inputs), of
which the discriminator and the reconstruction terms see L alone.
Distribution: losses are per-replica means divided by ``num_replicas_in_sync``
(Keras sums gradients across replicas); BatchNorm is synchronised. Build the
model and call ``compile`` inside ``strategy.scope()``: ``compile`` builds
both optimizers there. Mixed precision: under ``mixed_float16`` both
optimizers are wrapped in ``LossScaleOptimizer``.
"""

import keras
import tensorflow as tf

from tfcolor.core import color
from tfcolor.gans.averaging import WeightAverage
from tfcolor.gans.reconstruction import Reconstruction
from tfcolor.gans.optimizers import make_optimizer
from tfcolor.models import classes
from tfcolor.models.layers import all_layers


def has_batchnorm(model):
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in all_layers(model))


def _l_of(x):
    """The L channel of a generator input (a hint generator's carries the hints after it)."""
    return x[..., :1] if x.shape[-1] != 1 else x


def _replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


class ColorGAN(keras.Model):
    """Conditional GAN colouriser: generator L -> ab, discriminator (L, ab) -> outputs.

    Args:
      generator: Keras model L [B, S, S, 1] -> ab [B, S, S, 2].
      discriminator: Keras model [L, ab] -> outputs of any shape.
      l1_weight: lambda of the L1 reconstruction term in the generator loss.
      n_critic: discriminator updates per generator update.
      reconstruction: the generator's non-adversarial loss (a
        :class:`tfcolor.gans.reconstruction.Reconstruction`); None: ``l1_weight`` * L1.
      ema_decay: > 0 keeps an exponential moving average of the generator's weights
        (:mod:`tfcolor.gans.averaging`) in ``averaged_generator``; validation and
        ``inference_generator`` use it. 0: off.
    """

    EXTRA_METRICS = ()
    OPTIMIZER = None  # the paper's recipe: (name, learning rate, beta_1, beta_2)
    N_CRITIC = 1

    def __init__(self, generator, discriminator, l1_weight=100.0, n_critic=None, reconstruction=None,
                 ema_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        n_critic = self.N_CRITIC if n_critic is None else n_critic
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        self.generator = generator
        self.discriminator = discriminator
        self.reconstruction = reconstruction or Reconstruction(l1_weight)
        self.l1_weight = self.reconstruction.l1_weight
        self.n_critic = int(n_critic)
        self.pretraining = False
        self.averaging = WeightAverage(generator, ema_decay) if ema_decay else None
        # An attribute, so that checkpoints hold the average beside the raw weights.
        self.averaged_generator = self.averaging.model if self.averaging else None
        # A class-head generator (--ab_output=classes) also gives its class logits to the
        # reconstruction terms; a closure, so that Keras does not track the view as a sublayer.
        view = classes.logits_view(generator) if self.reconstruction.class_weight else None
        if self.reconstruction.class_weight and view is None:
            raise ValueError("the colour-class term needs a generator with a class head (--ab_output=classes)")
        self._logits_and_ab = (lambda l: view(l, training=True)) if view else None
        self._class_centres = tf.constant(classes.centres(generator)) if view else None
        # One discriminator call on concat(real, fake) halves the calls, but
        # would mix real and fake batch statistics: only without BatchNorm.
        self._joint_discriminator_call = not has_batchnorm(discriminator)
        names = ("d_loss", "g_loss", "g_adv", "l1", "psnr") + self.reconstruction.names + tuple(self.EXTRA_METRICS)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    # ----- pieces supplied by each objective -------------------------------
    def discriminator_loss(self, real_outputs, fake_outputs):
        raise NotImplementedError

    def generator_adversarial_loss(self, fake_outputs):
        raise NotImplementedError

    def discriminator_penalty(self, l, real_ab, fake_ab):
        """Extra discriminator loss term and its logs; none by default."""
        del l, real_ab, fake_ab
        return 0.0, {}

    def after_discriminator_update(self):
        """Runs after every discriminator update (weight clipping...)."""
        return None

    def default_optimizers(self):
        """(generator optimizer, discriminator optimizer) of the paper's recipe."""
        return make_optimizer(*self.OPTIMIZER), make_optimizer(*self.OPTIMIZER)

    def discriminator_logs(self, real_outputs, fake_outputs):
        """Extra per-step logs computed from the discriminator outputs."""
        del real_outputs, fake_outputs
        return {}

    # ----- Keras plumbing ---------------------------------------------------
    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        super().compile(**kwargs)
        defaults = self.default_optimizers() if g_optimizer is None or d_optimizer is None else None
        self.g_optimizer = g_optimizer or defaults[0]
        self.d_optimizer = d_optimizer or defaults[1]
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            wrap = lambda opt: opt if isinstance(opt, keras.optimizers.LossScaleOptimizer) else (  # noqa: E731
                keras.optimizers.LossScaleOptimizer(opt))
            self.g_optimizer, self.d_optimizer = wrap(self.g_optimizer), wrap(self.d_optimizer)
        # Built here, inside the caller's strategy scope, not lazily in a replica.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def inference_generator(self):
        """The generator to validate, show, save and export: the averaged one under --ema_decay."""
        return self.averaged_generator if self.averaging else self.generator

    def call(self, l, training=False):
        return self.inference_generator(l, training=training)

    def set_pretraining(self, enabled):
        """Switches L1-only generator pretraining on or off (retraces train_step)."""
        self.pretraining = bool(enabled)
        self.train_function = None

    # ----- the loop -----------------------------------------------------------
    def _discriminate(self, l, real_ab, fake_ab):
        if self._joint_discriminator_call:
            outputs = self.discriminator(
                [tf.concat([l, l], 0), tf.concat([real_ab, fake_ab], 0)], training=True
            )
            real_outputs, fake_outputs = tf.split(outputs, 2, axis=0)
            return real_outputs, fake_outputs
        return (self.discriminator([l, real_ab], training=True),
                self.discriminator([l, fake_ab], training=True))

    def _critic_objective(self, l, real_ab, fake_ab, real_outputs, fake_outputs):
        loss = self.discriminator_loss(real_outputs, fake_outputs)
        penalty, logs = self.discriminator_penalty(l, real_ab, fake_ab)
        logs = {**logs, **self.discriminator_logs(real_outputs, fake_outputs)}
        return loss + penalty, logs

    @staticmethod
    def _scaled(loss, optimizer):
        """The loss to differentiate: per replica, times the loss scale (fp16). Call it
        inside the tape."""
        return optimizer.scale_loss(loss / _replicas())

    def _update_discriminator(self, grads):
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(grads, variables))
        self.after_discriminator_update()

    def _update_generator(self, grads):
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        if self.averaging:
            self.averaging.update(self.g_optimizer.iterations)

    def _log(self, values):
        for name, value in values.items():
            self.trackers[name].update_state(value)

    def _generate(self, x):
        """The generator's training-mode ab and its class logits (None for a regression head)."""
        if self._logits_and_ab is None:
            return self.generator(x, training=True), None
        logits, fake_ab = self._logits_and_ab(x)
        return fake_ab, logits

    def _reconstruct(self, l, ab, fake_ab, logits):
        return self.reconstruction(l, ab, fake_ab, logits, self._class_centres)

    def _discriminator_step(self, x, ab):
        fake_ab, l = self.generator(x, training=True), _l_of(x)
        with tf.GradientTape() as tape:
            real_outputs, fake_outputs = self._discriminate(l, ab, fake_ab)
            d_loss, logs = self._critic_objective(l, ab, fake_ab, real_outputs, fake_outputs)
            scaled = self._scaled(d_loss, self.d_optimizer)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self._update_discriminator(grads)
        self._log({"d_loss": d_loss, **logs})

    def _joint_step(self, x, ab):
        l = _l_of(x)
        with tf.GradientTape(persistent=True) as tape:
            fake_ab, logits = self._generate(x)
            real_outputs, fake_outputs = self._discriminate(l, ab, fake_ab)
            d_loss, logs = self._critic_objective(
                l, ab, tf.stop_gradient(fake_ab), real_outputs, fake_outputs
            )
            g_adv = self.generator_adversarial_loss(fake_outputs)
            g_rec, rec_logs = self._reconstruct(l, ab, fake_ab, logits)
            g_loss = g_adv + g_rec
            d_scaled = self._scaled(d_loss, self.d_optimizer)
            g_scaled = self._scaled(g_loss, self.g_optimizer)
        d_grads = tape.gradient(d_scaled, self.discriminator.trainable_variables)
        g_grads = tape.gradient(g_scaled, self.generator.trainable_variables)
        del tape
        self._update_discriminator(d_grads)
        self._update_generator(g_grads)
        self._log({"d_loss": d_loss, "g_loss": g_loss, "g_adv": g_adv, **rec_logs, **logs})

    def _pretrain_step(self, x, ab):
        l = _l_of(x)
        with tf.GradientTape() as tape:
            fake_ab, logits = self._generate(x)
            g_loss, rec_logs = self._reconstruct(l, ab, fake_ab, logits)
            scaled = self._scaled(g_loss, self.g_optimizer)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self._update_generator(grads)
        self._log({"g_loss": g_loss, **rec_logs})

    def train_step(self, data):
        x, ab = data[0], data[1]
        if self.pretraining:
            self._pretrain_step(x, ab)
            names = ("g_loss", "l1") + self.reconstruction.names  # the discriminator's are idle
        else:
            if self.n_critic > 1 and not tf.distribute.has_strategy():
                # A graph loop, not n_critic - 1 copies of the critic's step (and its gradient
                # penalty): traced once (docs/training.md).
                # Under a tf.distribute strategy the updates' cross-replica sum (merge_call)
                # cannot sit in a loop: there the steps stay unrolled.
                def critic_step(i):
                    self._discriminator_step(x, ab)
                    return (i + 1,)

                tf.while_loop(lambda i: i < self.n_critic - 1, critic_step, (tf.constant(0),))
            else:
                for _ in range(self.n_critic - 1):
                    self._discriminator_step(x, ab)
            self._joint_step(x, ab)
            names = [name for name in self.trackers if name != "psnr"]
        return {name: self.trackers[name].result() for name in names}

    def test_step(self, data):
        """Validation: per-image L1 on normalised ab and PSNR on sRGB in [0, 1]."""
        x, ab = data[0], data[1]
        fake_ab, l = self.inference_generator(x, training=False), _l_of(x)
        self.trackers["l1"].update_state(tf.reduce_mean(tf.abs(ab - fake_ab), axis=[1, 2, 3]))
        real_rgb = color.normalized_lab_to_rgb(l, ab)
        fake_rgb = color.normalized_lab_to_rgb(l, fake_ab)
        self.trackers["psnr"].update_state(tf.image.psnr(real_rgb, fake_rgb, max_val=1.0))
        return {"l1": self.trackers["l1"].result(), "psnr": self.trackers["psnr"].result()}
