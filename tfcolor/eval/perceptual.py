"""Network-based metrics: FID (InceptionV3 pool features) and LPIPS (VGG variant).

Both need pretrained weights that tfcolor never downloads in tests:

* FID: ``inception_features(weights)`` with ``weights="imagenet"`` (keras.applications fetches
  them when the machine is online) or a local Keras weights file of InceptionV3 without its
  top (``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5``). Keras's ImageNet
  InceptionV3 is not the TF-slim graph of the original FID code, so absolute values differ
  from published FIDs; comparisons between runs evaluated the same way are sound.
* LPIPS: ``LPIPS(path)`` loads an .npz holding torchvision's VGG16 convolution weights and the
  official LPIPS v0.1 linear weights (``lpips_vgg.npz``, made once by
  ``python -m tfcolor.convert_lpips``), so values match the reference implementation's
  architecture and weights.

When weights are missing the loaders raise ``MissingWeights`` with a message saying what to
give; the evaluate command prints it and skips that metric.
"""

import os

import tensorflow as tf

from tfcolor.eval import metrics
from tfcolor.models.vgg import RELU_TAPS, MissingWeights, VGGFeatures

INCEPTION_SIZE = 299
LPIPS_TAPS = RELU_TAPS  # LPIPS compares all five: relu1_2 .. relu5_3


def inception_features(weights="imagenet"):
    """A function RGB images (a batch, or a list of photos of any sizes) -> [N, 2048]
    InceptionV3 pool features (each photo resized to 299 px, bilinear; one network call)."""
    import keras

    if weights != "imagenet" and not (weights and os.path.exists(weights)):
        raise MissingWeights(f"InceptionV3 weights file {weights!r} not found")
    try:
        model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                               input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    except Exception as e:  # noqa: BLE001 (offline download failures come in many types)
        raise MissingWeights(
            f"could not load InceptionV3 ImageNet weights ({type(e).__name__}: {str(e)[:120]}); "
            "pass --inception_weights=PATH to inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5") from e

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None, INCEPTION_SIZE, INCEPTION_SIZE, 3], tf.float32)])
    def pool_features(x):
        return model(x * 2.0 - 1.0, training=False)

    def resized(images):
        x = metrics.to_unit_rgb(images)
        x = tf.reshape(x, tf.concat([[-1], tf.shape(x)[-3:]], 0))
        return tf.image.resize(x, [INCEPTION_SIZE, INCEPTION_SIZE], "bilinear")

    def features(images):
        """RGB images [..., H, W, 3], or a list of RGB photos of any sizes -> [N, 2048]."""
        if isinstance(images, (list, tuple)):
            return pool_features(tf.concat([resized(image) for image in images], axis=0))
        return pool_features(resized(images))

    return features


def fid(features_a, features_b):
    """FID of two feature sets [N, D] (N >= 2 each)."""
    return metrics.frechet_distance_of_features(features_a, features_b)


def lpips_from_features(features_a, features_b, linear_weights, eps=1e-10):
    """LPIPS from two lists of feature maps [N, H, W, C]: per layer, unit-normalise along C,
    square the difference, weight channels by the linear layer, average over H, W; sum."""
    total = 0.0
    for fa, fb, w in zip(features_a, features_b, linear_weights, strict=True):
        na = fa / (tf.sqrt(tf.reduce_sum(fa * fa, axis=-1, keepdims=True)) + eps)
        nb = fb / (tf.sqrt(tf.reduce_sum(fb * fb, axis=-1, keepdims=True)) + eps)
        total += tf.reduce_mean(tf.reduce_sum((na - nb) ** 2 * w, axis=-1), axis=[1, 2])
    return total


class LPIPS:
    """LPIPS (VGG) distance between RGB images; 0 for identical images, ~0.1-0.7 for real
    differences. Weights from an .npz made by tfcolor.convert_lpips."""

    def __init__(self, path):
        self.features = VGGFeatures(path, LPIPS_TAPS, what="LPIPS weights")
        self.linear = [tf.constant(self.features.weights[f"lin{k}"].reshape(-1)) for k in range(len(LPIPS_TAPS))]

    def __call__(self, pred, truth):
        """Distance per image: [...] for images [..., H, W, 3]."""
        batch_shape = tf.shape(metrics.to_unit_rgb(pred))[:-3]
        distance = lpips_from_features(self.features(pred), self.features(truth), self.linear)
        return tf.reshape(distance, batch_shape)
