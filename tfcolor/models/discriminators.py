"""Conditional discriminators: they see concat(L, ab), never ab alone.

``patchgan_discriminator`` (Isola et al. 2017): ``n_layers`` stride-2 4x4
convs (64, 128, 256, 512...), one stride-1 4x4 conv and a stride-1 4x4 conv to
one logit per patch. Receptive field: n_layers=1 -> 16x16, 3 -> 70x70 (the
pix2pix default), 5 -> 286x286.

``pixelgan_discriminator``: 1x1 convs only, a logit per pixel (1x1 patches):
it judges colour, not structure.
"""

import keras

from tfcolor.models.layers import conv, conv_norm_act

FINAL_ACTIVATIONS = (None, "none", "tanh", "sigmoid")


def _inputs(image_size, l_channels=1, ab_channels=2):
    l = keras.Input((image_size, image_size, l_channels), name="l")
    ab = keras.Input((image_size, image_size, ab_channels), name="ab")
    return [l, ab], keras.layers.Concatenate(name="l_ab")([l, ab])


def _output(x, final_activation):
    if final_activation not in FINAL_ACTIVATIONS:
        raise ValueError(f"unknown final_activation {final_activation!r}; choose none, tanh or sigmoid")
    if final_activation in (None, "none"):
        return keras.layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.layers.Activation(final_activation, dtype="float32", name=final_activation)(x)


def receptive_field(n_layers):
    """Patch size seen by one output of a PatchGAN with ``n_layers``."""
    field = 1
    for kernel, stride in reversed([(4, 2)] * n_layers + [(4, 1), (4, 1)]):
        field = field * stride + (kernel - stride)
    return field


def patchgan_discriminator(image_size=256, n_layers=3, base_filters=64, norm="batch", init="normal",
                           final_activation=None, name=None):
    """PatchGAN on concat(L, ab) -> [B, P, P, 1] patch outputs."""
    inputs, x = _inputs(image_size)
    x = conv_norm_act(x, base_filters, 4, 2, "spectral" if norm == "spectral" else "none",
                      init, "lrelu", name="c1")
    for i in range(1, n_layers):
        filters = base_filters * min(2**i, 8)
        x = conv_norm_act(x, filters, 4, 2, norm, init, "lrelu", name=f"c{i + 1}")
    x = keras.layers.ZeroPadding2D(1, name="pad1")(x)
    x = conv_norm_act(x, base_filters * min(2**n_layers, 8), 4, 1, norm, init, "lrelu",
                      name=f"c{n_layers + 1}", padding="valid")
    x = keras.layers.ZeroPadding2D(1, name="pad2")(x)
    x = conv(1, 4, 1, init, "spectral" if norm == "spectral" else "none", padding="valid",
             name="patch")(x)
    name = name or f"patchgan{receptive_field(n_layers)}"
    return keras.Model(inputs, _output(x, final_activation), name=name)


def pixelgan_discriminator(image_size=32, base_filters=64, norm="batch", init="normal",
                           final_activation=None, name="pixelgan"):
    """1x1 PixelGAN on concat(L, ab) -> [B, S, S, 1] per-pixel outputs."""
    inputs, x = _inputs(image_size)
    x = conv_norm_act(x, base_filters, 1, 1, "spectral" if norm == "spectral" else "none",
                      init, "lrelu", name="c1")
    x = conv_norm_act(x, base_filters * 2, 1, 1, norm, init, "lrelu", name="c2")
    x = conv(1, 1, 1, init, "spectral" if norm == "spectral" else "none", name="pixel")(x)
    return keras.Model(inputs, _output(x, final_activation), name=name)
