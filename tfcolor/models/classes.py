"""Colour classes (``--ab_output=classes``): the generator predicts a distribution over ab cells
and decodes it to ab by the annealed mean (Zhang et al. 2016, "Colorful Image Colorization").

A regression head trained with L1 or L2 answers an uncertain pixel with the average of the
colours it might be, which is a brownish gray: the sepia of regression colourisers. A head that
predicts, for each pixel, a probability over the colour classes (the in-gamut cells of
tfcolor.core.ab_bins) keeps both modes of "red or green?"; the annealed mean

    ab = sum_q softmax(logits / T)_q * centre_q,    T = 0.38

sits between the mean (T = 1: faithful but dull) and the mode (T -> 0: vivid but blotchy). The
head works on any generator: the network is built with ``CLASS_FEATURES`` output channels,
averaged over ``CLASS_STRIDE`` x ``CLASS_STRIDE`` pixels, a 1x1 convolution turns them into the
class logits (layer ``LOGITS``), :class:`AnnealedMean` (layer ``DECODE``) gives ab in the
network range and a bilinear upsampling brings it to the image's size (colour varies slowly;
the L channel keeps the detail), so exports, TFLite and the browser page see an ordinary
L -> ab model. Predicting per 2x2 pixels makes the head 4x cheaper: its softmax over every
class is the costly part. Training reads the logits too (:func:`logits_view`) for the
cross-entropy term (tfcolor.gans.losses.class_cross_entropy).
"""

import keras
import numpy as np

from tfcolor.core import ab_bins
from tfcolor.core.color import AB_SCALE
from tfcolor.models.registry import CLASS_TEMPERATURE as TEMPERATURE

CLASS_FEATURES = 32  # generator output channels the class logits are computed from
CLASS_STRIDE = 2  # the logits' pixels are this many of the image's on a side (Zhang et al.: 4)
LOGITS = "ab_logits"
DECODE = "ab_annealed_mean"


@keras.saving.register_keras_serializable(package="tfcolor")
class AnnealedMean(keras.layers.Layer):
    """Class logits ``[B, H, W, Q]`` -> ab ``[B, H, W, 2]`` in the network range (natural units /
    110): the mean of the class centres under ``softmax(logits / temperature)``. The sum over
    classes is a 1x1 convolution with the centres as its fixed kernel (one CONV_2D in TFLite)."""

    def __init__(self, centres, temperature=TEMPERATURE, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.centres = np.asarray(centres, np.float32).reshape(-1, 2)
        if not temperature > 0:
            raise ValueError(f"the annealed-mean temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def call(self, logits):
        probabilities = keras.ops.softmax(keras.ops.cast(logits, "float32") / self.temperature, axis=-1)
        kernel = keras.ops.convert_to_tensor((self.centres / AB_SCALE)[None, None], "float32")
        return keras.ops.conv(probabilities, kernel, strides=1, padding="valid")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2,)

    def get_config(self):
        return {**super().get_config(), "centres": self.centres.tolist(), "temperature": self.temperature}


def class_head(generator, temperature=TEMPERATURE, centres=None, prior=None):
    """``generator`` (built with ``CLASS_FEATURES`` output channels) with the class logits and
    the annealed-mean decoding on top: the same input, ab out.

    ``prior``: ``[Q]`` class probabilities of the training colours (tfcolor.gans.rebalance.
    class_prior); the logits' bias starts at their log, so that training starts from the
    colours of the data and spends its steps on what sets one pixel apart (at a GAN's learning
    rate, Adam moves a bias by about 1e-4 per step: too slow to learn a prior spanning several
    nats). None: zero bias (the uniform distribution)."""
    centres = ab_bins.gamut_centres() if centres is None else np.asarray(centres, np.float32)
    features = generator.outputs[0]
    if features.shape[-1] != CLASS_FEATURES:
        raise ValueError(f"the class head takes {CLASS_FEATURES} generator channels, got {features.shape[-1]}")
    bias = "zeros" if prior is None else keras.initializers.Constant(np.log(np.asarray(prior, np.float32)))
    if CLASS_STRIDE > 1:
        features = keras.layers.AveragePooling2D(CLASS_STRIDE, name="ab_features_pool")(features)
    logits = keras.layers.Conv2D(len(centres), 1, bias_initializer=bias, name=LOGITS)(features)
    ab = AnnealedMean(centres, temperature, name=DECODE)(logits)
    if CLASS_STRIDE > 1:
        ab = keras.layers.UpSampling2D(CLASS_STRIDE, interpolation="bilinear", dtype="float32", name="ab_upsample")(ab)
    return keras.Model(generator.input, ab, name=generator.name)


def decoder(generator):
    """The generator's AnnealedMean layer, or None for a regression generator."""
    names = {layer.name for layer in generator.layers}
    return generator.get_layer(DECODE) if DECODE in names else None


def centres(generator):
    """``[Q, 2]`` class centres (natural units) of a class-head generator."""
    return decoder(generator).centres


def logits_view(generator):
    """A model sharing ``generator``'s layers that returns ``(logits, ab)``; None for a regression
    generator."""
    if decoder(generator) is None:
        return None
    return keras.Model(generator.input, [generator.get_layer(LOGITS).output, generator.outputs[0]],
                       name=f"{generator.name}_with_logits")
