"""Separable sliding-window filters for the image metrics (SSIM's Gaussian, UIQI's box).

``filter_columns(filter_rows(x, taps), taps)`` is the 2-D "valid" correlation of every plane of
``x`` [N, C, H, W] with the separable kernel ``outer(taps, taps)``: the same numbers as a
depthwise convolution with that kernel, in two 1-D passes (2n instead of n^2 multiplications
per output).

Each pass is a sum of n shifted slices compiled by XLA into one loop over memory. Planes, not
channels-last: with W innermost XLA's loops vectorise (channels-last with 3-15 channels was 3-4x
slower here), and several maps are best returned as separate outputs, not concatenated (a
concatenation inside the loop cost 3-4x too). Callers run the two passes as two separate XLA
computations (tfcolor/eval/metrics.py) on purpose: compiled together, XLA fuses the first pass into
the second and recomputes it for each of the second pass's taps (n^2 work again). Cheap
element-wise work can be fused into either: the maps to filter into the first (recomputed per
tap, but read from fewer bytes), and what consumes the result into the second. On a 2-core
CPU, for 12 maps of 640x1024 and an 11-tap Gaussian (bench/README.md): 16 ms in two
computations, 55 ms fused into one, 77 ms as two depthwise convolutions, 216 ms as a plain TF
graph. XLA compiles each computation once per input shape; ``tfcolor.eval.metrics`` pads photos to
a few bucket sizes so that a dataset of many sizes compiles a bounded number of times.
"""

import numpy as np
import tensorflow as tf


def gaussian_taps(size=11, sigma=1.5):
    """Normalised 1-D Gaussian; its outer product is tf.image.ssim's 2-D window."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return tuple(float(v) for v in g / g.sum())


def box_taps(size):
    """Weights 1: window sums, exact for integer-valued float32 inputs below 2**24."""
    return (1.0,) * size


def _shifted_sum(x, taps, axis):
    length = tf.shape(x)[axis] - len(taps) + 1
    total = None
    for offset, weight in enumerate(taps):
        part = x[(slice(None),) * axis + (slice(offset, offset + length),)]
        part = part if weight == 1.0 else part * weight
        total = part if total is None else total + part
    return total


def filter_rows(x, taps):
    """1-D valid correlation along H of [N, C, H, W] (traceable inside an XLA computation)."""
    return _shifted_sum(x, taps, axis=2)


def filter_columns(x, taps):
    """1-D valid correlation along W of [N, C, H, W]."""
    return _shifted_sum(x, taps, axis=3)

