"""sRGB <-> CIE L*a*b* (D65) conversion in pure TensorFlow ops.

Every function here is built from TensorFlow builtins (gather, matmul, pow,
where, clip), so the same code runs eagerly, inside ``tf.data.Dataset.map``,
inside an exported SavedModel and in a TFLite model with builtin ops only.

Formulas (IEC 61966-2-1 sRGB, CIE 1976 L*a*b*), with the constants that
``skimage.color.rgb2lab`` / ``lab2rgb`` use so the two agree to ~1e-4:

    linear = ((c + 0.055) / 1.055) ** 2.4   if c > 0.04045 else c / 12.92
    XYZ    = M @ linear,  normalised by the D65 white (0.95047, 1, 1.08883)
    f(t)   = t ** (1/3)                      if t > 0.008856 else 7.787 t + 16/116
    L = 116 f(Y) - 16,   a = 500 (f(X) - f(Y)),   b = 200 (f(Y) - f(Z))

Units: RGB floats in [0, 1] (uint8 in [0, 255] is accepted by
:func:`rgb_to_lab`), Lab in natural units (L in [0, 100], a and b roughly in
[-128, 127]). Any leading batch shape is allowed; the last axis is the channel.

Network normalisation, defined here and nowhere else:

    L_norm  = L / 50 - 1          (L in [0, 100]   -> [-1, 1])
    ab_norm = ab / 110            (sRGB gamut |a|, |b| <= 108 -> inside [-1, 1])
"""

import tensorflow as tf

from tfcolor.core.colornp import (AB_SCALE, D65_WHITE, L_SCALE, RGB_FROM_XYZ, SRGB_TO_LINEAR_U8,  # noqa: F401
                                  XYZ_FROM_RGB)
from tfcolor.core.colornp import F_INV_THRESHOLD as _F_INV_THRESHOLD
from tfcolor.core.colornp import F_TO_LAB as _F_TO_LAB
from tfcolor.core.colornp import LAB_EPSILON as _LAB_EPSILON
from tfcolor.core.colornp import LAB_KAPPA as _LAB_KAPPA
from tfcolor.core.colornp import LAB_OFFSET as _LAB_OFFSET
from tfcolor.core.colornp import LAB_SHIFT as _LAB_SHIFT
from tfcolor.core.colornp import LAB_TO_F as _LAB_TO_F
from tfcolor.core.colornp import LINEAR_THRESHOLD as _LINEAR_THRESHOLD
from tfcolor.core.colornp import RGB_TO_XYZN as _RGB_TO_XYZN
from tfcolor.core.colornp import SRGB_THRESHOLD as _SRGB_THRESHOLD
from tfcolor.core.colornp import XYZN_TO_RGB as _XYZN_TO_RGB


def _matmul_last(x, matrix):
    """x[..., 3] @ matrix[3, 3] for any leading shape."""
    shape = tf.shape(x)
    flat = tf.reshape(x, [-1, 3])
    return tf.reshape(tf.matmul(flat, tf.constant(matrix, x.dtype)), shape)


def _pow(x, exponent):
    """x ** exponent for x > 0 as exp(exponent * log(x)): 3x faster than tf.pow on
    CPU (bench/README.md), same float32 accuracy here, and TFLite builtins."""
    return tf.exp(exponent * tf.math.log(x))


def srgb_to_linear(rgb):
    """Removes the sRGB gamma: float values in [0, 1] -> linear light."""
    rgb = tf.convert_to_tensor(rgb)
    # The pow runs on max(x, threshold) so that its gradient stays finite at 0
    # even though tf.where evaluates both branches.
    curved = _pow((tf.maximum(rgb, _SRGB_THRESHOLD) + 0.055) / 1.055, 2.4)
    return tf.where(rgb > _SRGB_THRESHOLD, curved, rgb / 12.92)


def linear_to_srgb(linear):
    """Applies the sRGB gamma: linear light -> display values (not clipped)."""
    linear = tf.convert_to_tensor(linear)
    curved = 1.055 * _pow(tf.maximum(linear, _LINEAR_THRESHOLD), 1.0 / 2.4) - 0.055
    return tf.where(linear > _LINEAR_THRESHOLD, curved, linear * 12.92)


def _lab_f(t):
    cube_root = _pow(tf.maximum(t, _LAB_EPSILON), 1.0 / 3.0)
    return tf.where(t > _LAB_EPSILON, cube_root, _LAB_KAPPA * t + _LAB_OFFSET)


def _lab_f_inv(f):
    return tf.where(
        f > _F_INV_THRESHOLD, f * f * f, (f - _LAB_OFFSET) / _LAB_KAPPA
    )


def linear_rgb_to_lab(linear):
    """Linear-light RGB -> L*a*b* (D65)."""
    linear = tf.convert_to_tensor(linear, tf.float32)
    xyz_n = _matmul_last(linear, _RGB_TO_XYZN)
    return _matmul_last(_lab_f(xyz_n), _F_TO_LAB) + _LAB_SHIFT


def rgb_to_lab(rgb):
    """sRGB -> CIE L*a*b* (D65 white), like ``skimage.color.rgb2lab``.

    Args:
      rgb: ``[..., 3]`` tensor. Floats are sRGB values in [0, 1]; uint8 values
        in [0, 255] take a fast path that looks the linearisation up in a
        256-entry table instead of computing a pow per value.

    Returns:
      float32 ``[..., 3]`` tensor of (L, a, b) in natural units.
    """
    rgb = tf.convert_to_tensor(rgb)
    if rgb.dtype == tf.uint8:
        linear = tf.gather(tf.constant(SRGB_TO_LINEAR_U8), tf.cast(rgb, tf.int32))
    else:
        linear = srgb_to_linear(tf.cast(rgb, tf.float32))
    return linear_rgb_to_lab(linear)


def lab_to_rgb(lab):
    """CIE L*a*b* (D65 white) -> sRGB in [0, 1], like ``skimage.color.lab2rgb``.

    Out-of-gamut colours are clipped to [0, 1] (and, as in skimage, a negative
    f(Z) is clipped to 0 first), so the result is never NaN.

    Args:
      lab: float ``[..., 3]`` tensor of (L, a, b) in natural units.

    Returns:
      float32 ``[..., 3]`` tensor of sRGB values in [0, 1].
    """
    lab = tf.convert_to_tensor(lab, tf.float32)
    f = _matmul_last(lab - _LAB_SHIFT, _LAB_TO_F)
    # skimage clips z < 0 (f(Z) < 0) before inverting f; do the same.
    f = tf.concat([f[..., :2], tf.maximum(f[..., 2:], 0.0)], axis=-1)
    linear = _matmul_last(_lab_f_inv(f), _XYZN_TO_RGB)
    return tf.clip_by_value(linear_to_srgb(linear), 0.0, 1.0)


def constants():
    """Every number of this module's conversion, as plain floats and lists: what other
    implementations of it take (the web page's lab.js, through tfcolor.deploy.web)."""
    return {"xyz_from_rgb": XYZ_FROM_RGB.tolist(), "rgb_from_xyz": RGB_FROM_XYZ.tolist(),
            "white": D65_WHITE.tolist(), "l_scale": L_SCALE, "ab_scale": AB_SCALE,
            "srgb_threshold": _SRGB_THRESHOLD, "linear_threshold": _LINEAR_THRESHOLD,
            "lab_epsilon": _LAB_EPSILON, "lab_kappa": _LAB_KAPPA, "f_inv_threshold": _F_INV_THRESHOLD}


def normalize_l(l):
    """L in [0, 100] -> [-1, 1]."""
    return tf.convert_to_tensor(l, tf.float32) / L_SCALE - 1.0


def denormalize_l(l_norm):
    """[-1, 1] -> L in [0, 100]."""
    return (tf.convert_to_tensor(l_norm, tf.float32) + 1.0) * L_SCALE


def normalize_ab(ab):
    """a, b in natural units -> network range (divided by 110)."""
    return tf.convert_to_tensor(ab, tf.float32) / AB_SCALE


def denormalize_ab(ab_norm):
    """Network range -> a, b in natural units."""
    return tf.convert_to_tensor(ab_norm, tf.float32) * AB_SCALE


def split_lab(lab):
    """Lab ``[..., 3]`` -> normalised ``(L [..., 1], ab [..., 2])`` for the networks."""
    lab = tf.convert_to_tensor(lab, tf.float32)
    return normalize_l(lab[..., :1]), normalize_ab(lab[..., 1:])


def join_lab(l_norm, ab_norm):
    """Normalised ``(L, ab)`` -> Lab ``[..., 3]`` in natural units."""
    return tf.concat([denormalize_l(l_norm), denormalize_ab(ab_norm)], axis=-1)


def normalized_lab_to_rgb(l_norm, ab_norm):
    """Normalised network tensors -> sRGB in [0, 1]."""
    return lab_to_rgb(join_lab(l_norm, ab_norm))


def check_rgb(images):
    """``images`` as a tensor; ValueError unless its last axis holds 3 channels (RGB)."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank is None or images.shape.rank < 3 or images.shape[-1] != 3:
        raise ValueError(f"expected RGB images [..., H, W, 3], got shape {images.shape}")
    return images


def to_unit_rgb(images):
    """uint8 or float [0, 1] RGB -> float32 [0, 1]; refuses anything that is not RGB."""
    images = check_rgb(images)
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 255.0
    if not images.dtype.is_floating:
        raise ValueError(f"expected uint8 or float RGB, got {images.dtype.name}")
    images = tf.cast(images, tf.float32)
    low, high = tf.reduce_min(images), tf.reduce_max(images)
    message = ("metrics take RGB in [0, 1] (float) or [0, 255] (uint8); these values look like "
               "Lab or normalised Lab: convert with lab_to_rgb first")
    if tf.executing_eagerly():
        if float(low) < -1e-3 or float(high) > 1.0 + 1e-3:
            raise ValueError(f"{message} (range [{float(low):.3g}, {float(high):.3g}])")
        return tf.clip_by_value(images, 0.0, 1.0)
    checks = [tf.debugging.assert_greater_equal(low, -1e-3, message=message),
              tf.debugging.assert_less_equal(high, 1.0 + 1e-3, message=message)]
    with tf.control_dependencies(checks):
        return tf.clip_by_value(images, 0.0, 1.0)
