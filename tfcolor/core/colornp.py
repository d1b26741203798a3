"""sRGB <-> CIE L*a*b* (D65) and the network's resizes in numpy alone: what colouring a photo
needs without importing TensorFlow (tfcolor.deploy.quick). The constants are defined here and
tfcolor.core.color, the TensorFlow version, takes them from here; tests hold the two together.
"""

import numpy as np

# sRGB primaries with a D65 white, as in skimage.color (xyz_from_rgb).
XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])

# Normalisation constants for the networks: L_norm = L / 50 - 1, ab_norm = ab / 110.
L_SCALE = 50.0
AB_SCALE = 110.0

SRGB_THRESHOLD = 0.04045
LINEAR_THRESHOLD = 0.0031308
LAB_EPSILON = 0.008856  # (6/29)**3 rounded as in skimage
LAB_KAPPA = 7.787  # (29/6)**2 / 3 rounded as in skimage
LAB_OFFSET = 16.0 / 116.0
F_INV_THRESHOLD = 0.2068966  # 6/29

# rgb_linear (row vector) -> XYZ / white, folded into one matrix.
RGB_TO_XYZN = (XYZ_FROM_RGB.T / D65_WHITE[None, :]).astype(np.float32)
# XYZ / white -> rgb_linear.
XYZN_TO_RGB = (D65_WHITE[:, None] * RGB_FROM_XYZ.T).astype(np.float32)
# (f(X), f(Y), f(Z)) -> (L + 16, a, b).
F_TO_LAB = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]], np.float32)
LAB_TO_F = np.linalg.inv(F_TO_LAB.astype(np.float64)).astype(np.float32)
LAB_SHIFT = np.array([-16.0, 0.0, 0.0], np.float32)


def srgb_to_linear(c):
    c = np.asarray(c, np.float64)
    return np.where(c > SRGB_THRESHOLD, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)


# The sRGB linearisation of each 8-bit code value.
SRGB_TO_LINEAR_U8 = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def _lab_f(t):
    return np.where(t > LAB_EPSILON, np.cbrt(np.maximum(t, LAB_EPSILON)), LAB_KAPPA * t + LAB_OFFSET)


def lightness(rgb):
    """uint8 sRGB [..., 3] -> L* [..., 1] (0-100), float32: Y alone, as rgb_to_lab's L."""
    linear = SRGB_TO_LINEAR_U8[rgb]
    y = linear @ RGB_TO_XYZN[:, 1]
    return (116.0 * _lab_f(y) - 16.0).astype(np.float32)[..., None]


def rgb_to_lab(rgb):
    """sRGB [..., 3] (uint8, or floats in [0, 1]) -> L*a*b* float32, as tfcolor.core.color.rgb_to_lab."""
    rgb = np.asarray(rgb)
    linear = SRGB_TO_LINEAR_U8[rgb] if rgb.dtype == np.uint8 else srgb_to_linear(rgb).astype(np.float32)
    return (_lab_f(linear @ RGB_TO_XYZN) @ F_TO_LAB + LAB_SHIFT).astype(np.float32)


def lab_to_rgb_uint8(lab):
    """L*a*b* [..., 3] -> uint8 sRGB, as tfcolor.core.color.lab_to_rgb then rounded (negative
    f(Z) and out-of-gamut values clipped, as skimage does)."""
    f = (np.asarray(lab, np.float32) - LAB_SHIFT) @ LAB_TO_F
    f[..., 2] = np.maximum(f[..., 2], 0.0)
    xyz = np.where(f > F_INV_THRESHOLD, f * f * f, (f - LAB_OFFSET) / LAB_KAPPA)
    linear = xyz @ XYZN_TO_RGB
    srgb = np.where(linear > LINEAR_THRESHOLD,
                    1.055 * np.power(np.maximum(linear, LINEAR_THRESHOLD), 1.0 / 2.4) - 0.055, linear * 12.92)
    return np.round(np.clip(srgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _resize_axis(x, size, axis):
    """Bilinear resize of one axis as tf.image.resize (half-pixel centres, no antialiasing)."""
    n = x.shape[axis]
    if n == size:
        return x
    source = np.clip((np.arange(size) + 0.5) * (n / size) - 0.5, 0.0, None)
    low = np.minimum(np.floor(source).astype(np.int64), n - 1)
    high = np.minimum(low + 1, n - 1)
    weight = (source - low).astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = size
    weight = weight.reshape(shape)
    return np.take(x, low, axis=axis) * (1.0 - weight) + np.take(x, high, axis=axis) * weight


def resize_bilinear(image, height, width):
    """[H, W, C] float32 -> [height, width, C], as tf.image.resize(method="bilinear")."""
    return _resize_axis(_resize_axis(np.asarray(image, np.float32), height, 0), width, 1)


def _area_weights(n, size):
    """[size, n]: the share of each of the ``n`` input cells in each of ``size`` output cells."""
    edges = np.arange(size + 1) * (n / size)
    low, high = edges[:-1, None], edges[1:, None]
    cells = np.arange(n)[None, :]
    overlap = np.clip(np.minimum(high, cells + 1) - np.maximum(low, cells), 0.0, None)
    return (overlap / (n / size)).astype(np.float32)


def resize_area(image, height, width):
    """[H, W, C] -> [height, width, C], each output pixel the mean of the input area it covers (as
    tf.image.resize(method="area") when shrinking)."""
    image = np.asarray(image, np.float32)
    rows = np.tensordot(_area_weights(image.shape[0], height), image, axes=(1, 0))
    return np.einsum("wj,hjc->hwc", _area_weights(image.shape[1], width), rows)


def shrink(image, size):
    """[H, W, C] -> [size, size, C] as tfcolor.deploy.inference.shrink: a bilinear resize to the
    next multiple k * size of each side, then the mean of each k x k block."""
    height, width, channels = image.shape
    kh, kw = max(-(-height // size), 1), max(-(-width // size), 1)
    x = resize_bilinear(image, kh * size, kw * size)
    return x.reshape(size, kh, size, kw, channels).mean(axis=(1, 3), dtype=np.float32)
