"""Exponential moving average of the generator's weights (``--ema_decay``).

BigGAN and StyleGAN evaluate and ship an averaged copy of the generator: the weights of a GAN
generator jitter from step to step (the adversarial game never settles), and their running
average gives smoother, more stable colours and a smaller spread between seeds.

After each generator update, every weight ``v`` of the generator (trainable ones and the
BatchNorm statistics alike) moves its average ``e`` by::

    e <- d_t e + (1 - d_t) v,    d_t = min(decay, (1 + t) / (10 + t))

where ``t`` is the number of generator updates so far, counting this one (the warm-up of
``tf.train.ExponentialMovingAverage``'s ``num_updates``): early on the average follows the
weights closely, so a short run is not dragged back to its random initialisation. The average
starts as a copy of the generator (after ``--init_from``, of the loaded weights).
"""

import keras
import tensorflow as tf


def decay_at(decay, step):
    """The decay used for update number ``step`` (1 for the first update)."""
    step = tf.cast(step, tf.float32)
    return tf.minimum(tf.cast(decay, tf.float32), (1.0 + step) / (10.0 + step))


def _value(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


class WeightAverage:
    """The averaged copy of a Keras model, updated in place (also under a tf.distribute strategy).

    Build it where the model was built (inside ``strategy.scope()``): the copy's variables are
    distributed the same way.
    """

    def __init__(self, model, decay):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the averaging decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.source = model
        self.model = keras.models.clone_model(model)
        self.model.trainable = False
        self.reset()

    def _pairs(self):
        return [(_value(a), _value(w)) for a, w in zip(self.model.weights, self.source.weights, strict=True)]

    def reset(self):
        """The average restarts from the model's current weights."""
        self.model.set_weights(self.source.get_weights())

    def update(self, step):
        """One averaging step (``step``: generator updates so far, this one included); call it in
        the train step, after the generator's update."""
        rate = 1.0 - decay_at(self.decay, step)

        def move(average, weight):
            return average.assign_sub(tf.cast(rate, average.dtype) * (average - weight))

        def update_all(strategy, pairs):
            for average, weight in pairs:
                strategy.extended.update(average, move, args=(weight,), group=False)

        # In a replica (MirroredStrategy) the update runs once, on every device's copy, with that
        # device's copy of the weights, as the optimizers do.
        tf.__internal__.distribute.interim.maybe_merge_call(
            update_all, tf.distribute.get_strategy(), self._pairs())
