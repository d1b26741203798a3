"""Building blocks shared by the generators and discriminators.

Normalisation kinds: ``batch`` (the fused kernel on one replica; synchronised
across replicas when built under a multi-replica strategy, so a multi-GPU step
equals a one-device step on the global batch), ``instance``
(``GroupNormalization(groups=-1)``), ``layer`` (``GroupNormalization(groups=1)``:
per sample over H, W, C with per-channel scale, the usual layer norm for
convolutions), ``spectral`` (``SpectralNormalization`` around each
convolution, no normalisation layer) and ``none``.
"""

import keras
import numpy as np
import tensorflow as tf

from tfcolor.core.registry import check_choice
from tfcolor.models import matmul_conv
from tfcolor.models.registry import INITS, NORMS



def all_layers(layer):
    """``layer`` and every layer inside it: nested models' layers and wrapped layers
    (SpectralNormalization's), through public attributes only."""
    yield layer
    for inner in getattr(layer, "layers", []):
        yield from all_layers(inner)
    wrapped = getattr(layer, "layer", None)
    if isinstance(wrapped, keras.layers.Layer):
        yield from all_layers(wrapped)


def kernel_initializer(init, seed=None):
    """``normal``: N(0, 0.02) as in pix2pix/DCGAN; ``xavier``: Glorot uniform."""
    check_choice("init", init, INITS)
    if init == "normal":
        return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)
    return keras.initializers.GlorotUniform(seed=seed)


def _multi_replica():
    return tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1


@keras.saving.register_keras_serializable(package="tfcolor")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """BatchNorm of NHWC feature maps through TF's fused kernel (FusedBatchNormV3).

    One kernel for the forward and one for the backward pass instead of Keras's chain of
    element-wise ops: 3x faster per layer on CPU (bench/README.md). Same variables and
    config as ``keras.layers.BatchNormalization`` (channels last, 4-D inputs) and the same
    moving statistics (population variance), so it is a drop-in replacement. Not synchronised
    across replicas: models built under a multi-replica strategy get Keras's synchronised
    BatchNorm instead.
    """

    def call(self, inputs, training=None, mask=None):
        del mask
        if len(inputs.shape) != 4 or self.axis not in ([3], [-1], 3, -1):
            return super().call(inputs, training=training)
        dtype = inputs.dtype
        x = tf.cast(inputs, "float32") if dtype not in (tf.float32, tf.float16, tf.bfloat16) else inputs
        gamma = tf.cast(self.gamma, tf.float32)
        beta = tf.cast(self.beta, tf.float32)
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            # The kernel returns the unbiased variance; Keras tracks the population one.
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), tf.float32)
            variance = variance * (count - 1.0) / tf.maximum(count, 2.0)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32), epsilon=self.epsilon,
                is_training=False,
            )
        return tf.cast(y, dtype)


def norm_layer(norm, name=None):
    """The normalisation layer for ``norm``, or None (``spectral``, ``none``)."""
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        if _multi_replica():
            return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True, name=name)
        return FusedBatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    if norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if norm == "layer":
        return keras.layers.GroupNormalization(groups=1, epsilon=1e-5, name=name)
    return None


def conv(filters, kernel, strides=1, init="normal", norm="none", use_bias=None, padding="same",
         name=None, transpose=False):
    """Conv2D (or Conv2DTranspose), wrapped in SpectralNormalization when ``norm='spectral'``.

    The layers are :mod:`tfcolor.models.matmul_conv`'s subclasses of Keras's: the same
    weights, computing small feature maps as one matmul on CPU.

    Bias defaults to off when a normalisation layer follows (it would cancel it).
    """
    if use_bias is None:
        use_bias = norm in ("spectral", "none")
    layer_class = matmul_conv.Conv2DTranspose if transpose else matmul_conv.Conv2D
    layer = layer_class(
        filters, kernel, strides=strides, padding=padding, use_bias=use_bias,
        kernel_initializer=kernel_initializer(init), name=name,
    )
    if norm == "spectral":
        return keras.layers.SpectralNormalization(layer, name=f"{name}_sn" if name else None)
    return layer


def conv_norm_act(x, filters, kernel, strides, norm, init, activation, name, padding="same",
                  transpose=False):
    """conv -> norm -> activation, the unit of every network here."""
    x = conv(filters, kernel, strides, init, norm, padding=padding, name=f"{name}_conv",
             transpose=transpose)(x)
    layer = norm_layer(norm, name=f"{name}_norm")
    if layer is not None:
        x = layer(x)
    if activation == "lrelu":
        return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)
    if activation:
        return keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


@keras.saving.register_keras_serializable(package="tfcolor")
class ReflectionPad(keras.layers.Layer):
    """Reflection padding of H and W (ResNet generators)."""

    def __init__(self, pad, **kwargs):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, x):
        p = self.pad
        return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d + 2 * self.pad  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


def cross_mask():
    """3x3 mask of the 4-neighbourhood (no centre, no corners)."""
    return np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], np.float32)
