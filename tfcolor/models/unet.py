"""U-Net generators: pix2pix's (Isola et al. 2017) and a small one for 32 px images.

pix2pix U-Net for 256 px (8 levels, 1x1 bottleneck):
encoder C64-C128-C256-C512-C512-C512-C512-C512 (4x4 stride-2 convs,
LeakyReLU 0.2, no norm on the first nor on the 1x1 innermost level, whose
batch statistics would be meaningless), decoder CD512-CD512-CD512-C512-C256-
C128-C64 (ReLU; dropout 0.5 in the first three blocks is the noise z, active
in training only), skip concatenations, and a last upsampling to the ab
channels with tanh. The depth follows the image size: log2(size) levels.
"""

import math

import keras

from tfcolor.core.registry import check_choice
from tfcolor.models.layers import conv, conv_norm_act, kernel_initializer, norm_layer
from tfcolor.models.registry import UPSAMPLINGS
from tfcolor.models.pixeltcl import PixelTCL


def upsample(x, filters, upsampling, init, norm, name, use_bias=None):
    """2x upsampling to ``filters`` channels (no normalisation or activation)."""
    check_choice("upsampling", upsampling, UPSAMPLINGS)
    if upsampling == "transpose":
        return conv(filters, 4, 2, init, norm, use_bias=use_bias, name=f"{name}_convT",
                    transpose=True)(x)
    if upsampling == "resize":
        x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
        return conv(filters, 3, 1, init, norm, use_bias=use_bias, name=f"{name}_conv")(x)
    return PixelTCL(filters, init=init, name=f"{name}_pixeltcl")(x)


def fused_skip_block(x, skip, filters, upsampling, init, norm, name):
    """The decoder step of the encoder U-Nets (resnet18_unet, encoder_unet): x2 upsampling,
    norm, ReLU, concatenation with the encoder's ``skip``, then a 3x3 conv-norm-ReLU fusing them.
    Layers are named NAME, NAME_norm, NAME_relu, NAME_skip and NAME_fuse."""
    x = upsample(x, filters, upsampling, init, norm, name=name)
    layer = norm_layer(norm, name=f"{name}_norm")
    if layer is not None:
        x = layer(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    x = keras.layers.Concatenate(name=f"{name}_skip")([x, skip])
    return conv_norm_act(x, filters, 3, 1, norm, init, "relu", name=f"{name}_fuse")


def unet_generator(image_size=256, num_downs=None, in_channels=1, out_channels=2, base_filters=64,
                   max_filters=512, norm="batch", init="normal", upsampling="transpose",
                   dropout=0.5, dropout_blocks=3, name="unet"):
    """pix2pix U-Net: L [S, S, 1] -> ab [S, S, 2] in [-1, 1].

    Args:
      image_size: input size; fixes the depth when ``num_downs`` is None
        (log2(image_size) levels, so the bottleneck is 1x1).
      num_downs: number of stride-2 levels (the small U-Net uses 4).
      norm, init, upsampling: see :mod:`tfcolor.models.layers`.
      dropout: rate in the first ``dropout_blocks`` decoder blocks.
    """
    if not num_downs:  # None or 0: the full depth
        num_downs = int(round(math.log2(image_size)))
    if image_size % (2**num_downs):
        raise ValueError(f"image_size {image_size} is not divisible by 2**{num_downs}")
    inputs = keras.Input((image_size, image_size, in_channels), name="l")
    x = inputs
    skips = []
    filters = [min(base_filters * 2**i, max_filters) for i in range(num_downs)]
    for i, f in enumerate(filters):
        innermost = i == num_downs - 1
        level_norm = "none" if i == 0 or (innermost and norm != "spectral") else norm
        activation = "relu" if innermost else "lrelu"
        x = conv_norm_act(x, f, 4, 2, level_norm, init, activation, name=f"down{i + 1}")
        skips.append(x)
    skips = skips[:-1][::-1]
    for i, (skip, f) in enumerate(zip(skips, filters[:-1][::-1])):
        x = upsample(x, f, upsampling, init, norm, name=f"up{i + 1}")
        layer = norm_layer(norm, name=f"up{i + 1}_norm")
        if layer is not None:
            x = layer(x)
        if dropout and i < dropout_blocks:
            x = keras.layers.Dropout(dropout, name=f"up{i + 1}_dropout")(x)
        x = keras.layers.ReLU(name=f"up{i + 1}_relu")(x)
        x = keras.layers.Concatenate(name=f"up{i + 1}_skip")([x, skip])
    x = upsample(x, out_channels, upsampling, init, "none", name="out", use_bias=True)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="ab")(x)
    return keras.Model(inputs, outputs, name=name)


def small_unet_generator(image_size=32, **kwargs):
    """U-Net for 32 px images (CIFAR-10): 4 levels down, 4 up, no dropout by default."""
    kwargs["num_downs"] = kwargs.get("num_downs") or 4
    kwargs.setdefault("dropout", 0.0)
    kwargs.setdefault("name", "unet_small")
    return unet_generator(image_size=image_size, **kwargs)


__all__ = ["unet_generator", "small_unet_generator", "upsample", "kernel_initializer"]
