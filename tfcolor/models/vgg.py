"""VGG16 feature maps from torchvision's weights: the network behind the perceptual loss
(tfcolor.gans.reconstruction) and LPIPS (tfcolor.eval.perceptual). Weights come from a file
the user gives (``lpips_vgg.npz``, made by ``python -m tfcolor.convert_lpips``); nothing is
downloaded."""

import os

import numpy as np
import tensorflow as tf

from tfcolor.core.color import to_unit_rgb

# torchvision VGG16 ``features`` indices of the convolutions, and the ReLU taps (relu1_2,
# relu2_2, relu3_3, relu4_3, relu5_3) as the number of convolutions before each tap.
RELU_TAPS = (2, 4, 7, 10, 13)
VGG_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
POOL_AFTER = (2, 4, 7, 10)  # VGG16's max-pools follow these convolutions
LPIPS_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
LPIPS_SCALE = np.array([0.458, 0.448, 0.450], np.float32)


class MissingWeights(RuntimeError):
    """Pretrained weights are not available; the message says what to provide."""


class VGGFeatures:
    """VGG16 feature maps (ReLU outputs) of RGB images, from torchvision's VGG16 convolution
    weights in an .npz (keys ``features.<i>.weight`` [out, in, 3, 3] and ``features.<i>.bias``,
    as in ``lpips_vgg.npz`` made by tfcolor.convert_lpips). ``taps``: how many convolutions
    come before each returned map (2 = relu1_2, 4 = relu2_2, 7 = relu3_3, 10 = relu4_3,
    13 = relu5_3); only the convolutions up to the last tap are run. The weights are
    constants: nothing here trains."""

    def __init__(self, path, taps=RELU_TAPS, what="VGG16 weights"):
        if not path or not os.path.exists(path):
            raise MissingWeights(
                f"{what} {path!r} not found: make lpips_vgg.npz once with `python -m "
                "tfcolor.convert_lpips` (needs the official vgg.pth and torchvision's VGG16 weights)")
        if not taps or sorted(taps) != list(taps) or taps[-1] > len(VGG_CONVS) or taps[0] < 1:
            raise ValueError(f"taps must be increasing convolution counts in 1..{len(VGG_CONVS)}, got {taps}")
        self.taps = tuple(taps)
        self.weights = np.load(path)
        self.convs = [(tf.constant(self.weights[f"features.{i}.weight"].transpose(2, 3, 1, 0)),
                       tf.constant(self.weights[f"features.{i}.bias"])) for i in VGG_CONVS[:self.taps[-1]]]

    def __call__(self, images):
        """RGB ``[..., H, W, 3]`` (see to_unit_rgb) -> list of ``[N, h, w, C]`` maps."""
        x = to_unit_rgb(images)
        x = tf.reshape(x, tf.concat([[-1], tf.shape(x)[-3:]], 0))  # [N, H, W, 3]
        x = (x * 2.0 - 1.0 - LPIPS_SHIFT) / LPIPS_SCALE  # torchvision's ImageNet normalisation
        taps = []
        for n, (kernel, bias) in enumerate(self.convs, start=1):
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
            if n in self.taps:
                taps.append(x)
            if n in POOL_AFTER and n < self.taps[-1]:
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        return taps
