"""The learned refinement of Levin et al. 2004's propagation of user hints: a small U-Net reads a
photo's L, Levin's a*b*, the hint a*b* and their mask at the solve's size and returns Levin's
a*b* plus a correction (its last layer starts at zero: an untrained refiner is Levin itself).

Its input and output are a fixed ``SIZE`` x ``SIZE`` square (the solve's long side): a photo's
working size sits in its top-left corner, the rest zeros, as in training (bench.hint_refiner),
so that the photo-wide mean at its bottleneck (``global_context``) reads what it was trained on,
and one shape serves Python, TF Serving, TFLite and the web page. Channels (normalised as
tfcolor.core.levin: L / 100, a*b* / AB_SCALE, the mask 0 or 1): :data:`INPUTS` in,
Levin's refined a*b* out.
"""

import numpy as np

SIZE = 160  # = tfcolor.deploy.hinting.PROPAGATION_SIZE (a test holds them equal)
INPUTS = ("L", "levin_a", "levin_b", "hint_a", "hint_b", "mask")
CHANNELS = len(INPUTS)
WIDTHS = (16, 32, 64, 128)


def build(widths=WIDTHS, global_context=True, size=None):
    """The U-Net: input channels 1-2 (Levin's a*b*) plus a correction that starts at zero.
    ``global_context``: the bottleneck's features also get their mean over the whole square (a
    1x1 convolution of it, added everywhere), so that every pixel can read all the hints.
    ``size``: a fixed input side (None: any, for training on crops)."""
    import keras
    from keras import layers

    def block(x, filters):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)

    inputs = keras.Input((size, size, CHANNELS))
    x, skips = inputs, []
    for filters in widths[:-1]:
        x = block(x, filters)
        skips.append(x)
        x = layers.MaxPool2D()(x)
    x = block(x, widths[-1])
    if global_context:
        summary = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Add()([x, layers.Conv2D(widths[-1], 1, activation="relu")(summary)])
    for filters, skip in zip(reversed(widths[:-1]), reversed(skips)):
        x = layers.UpSampling2D(interpolation="bilinear")(x)
        x = block(layers.Concatenate()([x, skip]), filters)
    correction = layers.Conv2D(2, 1, kernel_initializer="zeros", name="correction")(x)
    return keras.Model(inputs, layers.Add()([inputs[..., 1:3], correction]), name="hint_refiner")


def scale_correction(model, factor):
    """``model`` with its correction multiplied by ``factor`` (its last convolution's kernel and
    bias scaled: the shipped refiner keeps half of what it learned, bench/README.md)."""
    layer = model.get_layer("correction")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * factor, bias * factor])
    return model


def load(path):
    """A saved refiner (``.keras``)."""
    import keras

    return keras.models.load_model(path, compile=False)


def square_input(gray, levin_ab, hint_ab, mask):
    """The refiner's input [SIZE, SIZE, CHANNELS] (float32) of one photo's working-size arrays:
    gray [h, w], Levin's a*b* [h, w, 2], the hints' [h, w, 2], their mask [h, w] or [h, w, 1]."""
    h, w = gray.shape
    x = np.zeros((SIZE, SIZE, CHANNELS), np.float32)
    x[:h, :w] = np.concatenate([gray[..., None], levin_ab, hint_ab, mask.reshape(h, w, 1)], -1)
    return x
