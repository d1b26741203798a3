"""ResNet generators.

``resnet_generator``: Johnson et al. 2016 as used by CycleGAN —
c7s1-64, d128, d256, n residual blocks of 256 (6 for 128 px, 9 for 256 px),
u128, u64, c7s1-2 with tanh; reflection padding.

``resnet18_unet_generator``: a U-Net whose encoder is ResNet-18 (He et al.
2016), so it can start from ImageNet weights. The L channel is repeated to
three channels to fit such weights. The encoder is a sub-model named
``resnet18_encoder``; ``encoder_weights`` loads a ``.weights.h5`` file saved
from it (e.g. ImageNet weights converted by the user). Nothing is downloaded.
"""

import keras

from tfcolor.models.layers import ReflectionPad, conv, conv_norm_act, norm_layer
from tfcolor.models.unet import fused_skip_block, upsample

ENCODER = "resnet18_encoder"  # the name of the encoder sub-model inside the generator


def _residual_block(x, filters, norm, init, name):
    y = ReflectionPad(1, name=f"{name}_pad1")(x)
    y = conv_norm_act(y, filters, 3, 1, norm, init, "relu", name=f"{name}_a", padding="valid")
    y = ReflectionPad(1, name=f"{name}_pad2")(y)
    y = conv_norm_act(y, filters, 3, 1, norm, init, None, name=f"{name}_b", padding="valid")
    return keras.layers.Add(name=f"{name}_add")([x, y])


def resnet_generator(image_size=256, num_blocks=9, in_channels=1, out_channels=2, base_filters=64,
                     norm="instance", init="normal", upsampling="transpose", name="resnet"):
    """Johnson et al. ResNet generator: L -> ab in [-1, 1]."""
    inputs = keras.Input((image_size, image_size, in_channels), name="l")
    x = ReflectionPad(3, name="stem_pad")(inputs)
    x = conv_norm_act(x, base_filters, 7, 1, norm, init, "relu", name="stem", padding="valid")
    for i in range(2):
        x = conv_norm_act(x, base_filters * 2 ** (i + 1), 3, 2, norm, init, "relu", name=f"down{i + 1}")
    for i in range(num_blocks):
        x = _residual_block(x, base_filters * 4, norm, init, name=f"block{i + 1}")
    for i in range(2):
        x = upsample(x, base_filters * 2 ** (1 - i), upsampling, init, norm, name=f"up{i + 1}")
        layer = norm_layer(norm, name=f"up{i + 1}_norm")
        if layer is not None:
            x = layer(x)
        x = keras.layers.ReLU(name=f"up{i + 1}_relu")(x)
    x = ReflectionPad(3, name="out_pad")(x)
    x = conv(out_channels, 7, 1, init, "none", padding="valid", name="out_conv")(x)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="ab")(x)
    return keras.Model(inputs, outputs, name=name)


def _basic_block(x, filters, strides, name):
    """ResNet-18 basic block (BatchNorm, as in the ImageNet model)."""
    shortcut = x
    y = conv_norm_act(x, filters, 3, strides, "batch", "xavier", "relu", name=f"{name}_1")
    y = conv_norm_act(y, filters, 3, 1, "batch", "xavier", None, name=f"{name}_2")
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_norm_act(x, filters, 1, strides, "batch", "xavier", None, name=f"{name}_down")
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_relu")(y)


def resnet18_encoder(image_size=256):
    """ResNet-18 trunk on 3 channels; outputs the features at /2, /4, /8, /16, /32."""
    inputs = keras.Input((image_size, image_size, 3), name="rgb")
    stem = conv_norm_act(inputs, 64, 7, 2, "batch", "xavier", "relu", name="conv1")
    x = keras.layers.MaxPooling2D(3, 2, padding="same", name="pool1")(stem)
    features = [stem]
    for stage, (filters, strides) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
        x = _basic_block(x, filters, strides, name=f"layer{stage + 1}_0")
        x = _basic_block(x, filters, 1, name=f"layer{stage + 1}_1")
        features.append(x)
    return keras.Model(inputs, features, name=ENCODER)


def resnet18_unet_generator(image_size=256, out_channels=2, norm="batch", init="normal",
                            upsampling="transpose", encoder_weights=None, name="resnet18_unet"):
    """U-Net with a ResNet-18 encoder: L -> ab in [-1, 1].

    Args:
      encoder_weights: optional path of weights for ``resnet18_encoder``
        (``encoder.save_weights(path)`` format); loaded after building.
    """
    if image_size % 32:
        raise ValueError(f"resnet18_unet needs an image size divisible by 32, got {image_size}")
    inputs = keras.Input((image_size, image_size, 1), name="l")
    rgb = keras.layers.Concatenate(name="l_to_3")([inputs, inputs, inputs])
    encoder = resnet18_encoder(image_size)
    if encoder_weights not in (None, "", "none"):
        encoder.load_weights(encoder_weights)
    features = encoder(rgb)
    x = features[-1]
    for i, (skip, filters) in enumerate(zip(features[-2::-1], (256, 128, 64, 64))):
        x = fused_skip_block(x, skip, filters, upsampling, init, norm, name=f"up{i + 1}")
    x = upsample(x, 32, upsampling, init, norm, name="up5")
    x = keras.layers.ReLU(name="up5_relu")(x)
    x = conv(out_channels, 3, 1, init, "none", name="out_conv")(x)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="ab")(x)
    return keras.Model(inputs, outputs, name=name)
