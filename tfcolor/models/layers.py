"""Building blocks shared by the generators and discriminators.

Normalisation kinds: ``batch`` (synchronised across replicas, so a
multi-GPU step equals a one-device step on the global batch), ``instance``
(``GroupNormalization(groups=-1)``), ``layer`` (``GroupNormalization(groups=1)``:
per sample over H, W, C with per-channel scale, the usual layer norm for
convolutions), ``spectral`` (``SpectralNormalization`` around each
convolution, no normalisation layer) and ``none``.
"""

import keras
import numpy as np

NORMS = ("batch", "instance", "layer", "spectral", "none")
INITS = ("normal", "xavier")
UPSAMPLINGS = ("transpose", "resize", "pixeltcl")


def check_choice(kind, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def kernel_initializer(init, seed=None):
    """``normal``: N(0, 0.02) as in pix2pix/DCGAN; ``xavier``: Glorot uniform."""
    check_choice("init", init, INITS)
    if init == "normal":
        return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)
    return keras.initializers.GlorotUniform(seed=seed)


def norm_layer(norm, name=None):
    """The normalisation layer for ``norm``, or None (``spectral``, ``none``)."""
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True, name=name)
    if norm == "instance":
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if norm == "layer":
        return keras.layers.GroupNormalization(groups=1, epsilon=1e-5, name=name)
    return None


def conv(filters, kernel, strides=1, init="normal", norm="none", use_bias=None, padding="same",
         name=None, transpose=False):
    """Conv2D (or Conv2DTranspose), wrapped in SpectralNormalization when ``norm='spectral'``.

    Bias defaults to off when a normalisation layer follows (it would cancel it).
    """
    if use_bias is None:
        use_bias = norm in ("spectral", "none")
    layer_class = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
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
