"""The hint inputs of a hint generator (``--hints``; Zhang et al. 2017).

A hint generator takes ``[B, S, S, 4]``: the normalised L, then the hint map's normalised a*b*
(zero where no hint) and its mask (tfcolor.core.hints). The pix2pix U-Net reads all four
channels from its first layer, as Zhang et al.'s network does. The encoder U-Net gives L alone
to its ImageNet encoder and the hints to every decoder level through :class:`HintPool`, so that
even its coarsest level (1/32 of the photo) knows where the hints are and can carry a hint's
colour across its region.
"""

import keras
import tensorflow as tf

from tfcolor.core.hints import HINT_CHANNELS

HINT_INPUT_CHANNELS = 1 + HINT_CHANNELS


def takes_hints(generator):
    """Whether a generator (any Keras model; other callables: no) has the hint channels in its input."""
    return getattr(generator, "input_shape", (None, 1))[-1] == HINT_INPUT_CHANNELS


@keras.saving.register_keras_serializable(package="tfcolor")
class HintPool(keras.layers.Layer):
    """Hint channels ``[B, S, S, 3]`` (a, b, mask) -> the same at 1/``factor`` of the size: per
    cell the mean hint colour of its hinted pixels, and the share of its pixels hinted."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, hints):
        hints = tf.cast(hints, tf.float32)
        ab, mask = hints[..., :2], hints[..., 2:]
        pooled = tf.nn.avg_pool2d(tf.concat([ab * mask, mask], -1), self.factor, self.factor, "VALID")
        ab_sum, share = pooled[..., :2], pooled[..., 2:]
        ab_mean = ab_sum / tf.maximum(share, 1e-6)
        return tf.cast(tf.concat([ab_mean * tf.cast(share > 0, tf.float32), share], -1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else h // self.factor, None if w is None else w // self.factor, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def with_hints(features, hints, factor):
    """``features`` at 1/``factor`` of the input size with the hints pooled to that size
    concatenated (layers named hint_pool_FACTOR and hints_FACTOR)."""
    pooled = HintPool(factor, name=f"hint_pool_{factor}")(hints)
    return keras.layers.Concatenate(name=f"hints_{factor}")([features, pooled])
