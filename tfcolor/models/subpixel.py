"""Exact rewrite of stride-2 transposed convolutions as convolution + depth-to-space.

A transposed convolution with stride s and 'same' padding computes s*s interleaved output
phases, each an ordinary convolution of the input with a subset of the kernel taps (Shi et
al. 2016, "Is the deconvolution layer the same as a convolutional layer?"). Writing the s*s
phases as the output channel groups of one stride-1 convolution (kernel ceil(k/s): the same
weights and multiply-adds, no zero taps), cropping each group and interleaving them with
depth_to_space(s) gives the same numbers with ops that every runtime has fast kernels for. This matters for
int8 TFLite, where a quantised TRANSPOSE_CONV runs on a slow reference kernel while
CONV_2D + DEPTH_TO_SPACE run on the optimised ones.

``to_subpixel(model)`` returns a copy of a generator with every Conv2DTranspose (also inside
SpectralNormalization, whose kernel already holds the normalised weights at inference)
replaced, weights carried over; the copy is for inference only.
"""

import keras
import numpy as np
import tensorflow as tf


def _same_pad_before(kernel, stride):
    # TF's 'SAME' for the forward convolution that a transposed convolution inverts.
    return max(kernel - stride, 0) // 2


def _phase_taps(kernel, stride):
    """Per output phase r: the first input offset and the kernel tap of each window step.

    Output s*a + r of the transposed convolution reads input a + d with tap
    t = r + pad - s*d for every d that puts t inside the kernel. Windows all get the same
    length n = ceil(k/s) (taps -1 mark steps a phase does not use).
    """
    pad = _same_pad_before(kernel, stride)
    n = -(-kernel // stride)
    phases = []
    for r in range(stride):
        offsets = [d for d in range(-kernel, kernel + 1) if 0 <= r + pad - stride * d < kernel]
        first = min(offsets, default=0)  # kernel < stride: a phase with no taps (bias only)
        phases.append((first, [r + pad - stride * d if d in offsets else -1
                               for d in range(first, first + n)]))
    return phases, n


def subpixel_weights(kernel, bias, stride):
    """Conv2DTranspose weights -> the weights of the equivalent SubPixelConv2D.

    Args:
      kernel: [kh, kw, out, in] (Keras Conv2DTranspose layout), kh == kw.
      bias: [out] or None.
      stride: the transposed convolution's stride (same in both axes).

    Returns:
      (kernel [n, n, in, s*s*out], bias [s*s*out] or None) with n = ceil(k/s): one 'valid'
      convolution whose s*s channel groups are the output phases, in depth_to_space order.
    """
    k, _, out_ch, in_ch = kernel.shape
    phases, n = _phase_taps(k, stride)
    new_kernel = np.zeros([n, n, in_ch, stride, stride, out_ch], kernel.dtype)
    for ry, (_, taps_y) in enumerate(phases):
        for rx, (_, taps_x) in enumerate(phases):
            for jy, ty in enumerate(taps_y):
                for jx, tx in enumerate(taps_x):
                    if ty >= 0 and tx >= 0:
                        new_kernel[jy, jx, :, ry, rx, :] = kernel[ty, tx].T
    new_kernel = new_kernel.reshape(n, n, in_ch, stride * stride * out_ch)
    new_bias = None if bias is None else np.tile(bias, stride * stride)
    return new_kernel, new_bias


@keras.saving.register_keras_serializable(package="tfcolor")
class SubPixelConv2D(keras.layers.Layer):
    """A 'same' stride-s transposed convolution with kernel k, computed as one 'valid'
    convolution of the padded input to s*s phase groups (kernel ceil(k/s), so exactly the
    transposed convolution's multiply-adds), a crop per phase and depth_to_space(s)."""

    def __init__(self, filters, kernel_size, stride=2, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.stride, self.use_bias = filters, kernel_size, stride, use_bias
        phases, n = _phase_taps(kernel_size, stride)
        self._pad_before = max(-first for first, _ in phases)
        self._pad_after = max(first + n - 1 for first, _ in phases)
        self._crops = [first + self._pad_before for first, _ in phases]
        self.conv = keras.layers.Conv2D(filters * stride * stride, n, padding="valid",
                                        use_bias=use_bias, name="conv")

    def build(self, input_shape):
        grow = self._pad_before + self._pad_after
        self.conv.build((input_shape[0], None if input_shape[1] is None else input_shape[1] + grow,
                         None if input_shape[2] is None else input_shape[2] + grow, input_shape[3]))

    def call(self, x):
        height, width = tf.shape(x)[1], tf.shape(x)[2]
        before, after = self._pad_before, self._pad_after
        y = self.conv(tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]]))
        groups, f = [], self.filters
        for ry, cy in enumerate(self._crops):
            for rx, cx in enumerate(self._crops):
                g = ry * self.stride + rx
                groups.append(y[:, cy:cy + height, cx:cx + width, g * f:(g + 1) * f])
        return tf.nn.depth_to_space(tf.concat(groups, axis=-1), self.stride)

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d * self.stride  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "stride": self.stride, "use_bias": self.use_bias}


def _transposed(layer):
    inner = layer.layer if isinstance(layer, keras.layers.SpectralNormalization) else layer
    if isinstance(inner, keras.layers.Conv2DTranspose):
        strides = tuple(inner.strides)
        square = inner.kernel_size[0] == inner.kernel_size[1]
        if inner.padding != "same" or strides[0] != strides[1] or strides[0] < 2 or not square:
            raise ValueError(f"{layer.name}: only 'same' transposed convolutions with square kernels and equal "
                             f"strides >= 2 can be rewritten, got padding={inner.padding} strides={strides}")
        return inner
    return None


def to_subpixel(model):
    """A copy of ``model`` with each Conv2DTranspose replaced by an equal SubPixelConv2D."""
    replaced = {}

    def clone(layer):
        inner = _transposed(layer)
        if inner is None:
            return layer.__class__.from_config(layer.get_config())
        kernel = keras.ops.convert_to_numpy(inner.kernel)
        bias = keras.ops.convert_to_numpy(inner.bias) if inner.use_bias else None
        new_kernel, new_bias = subpixel_weights(kernel, bias, inner.strides[0])
        replaced[layer.name] = [new_kernel] + ([] if new_bias is None else [new_bias])
        return SubPixelConv2D(inner.filters, inner.kernel_size[0], inner.strides[0], inner.use_bias,
                              name=layer.name)

    copy = keras.models.clone_model(model, clone_function=clone)
    for old, new in zip(model.layers, copy.layers):
        if old.name in replaced:
            new.conv.set_weights(replaced[old.name])
        else:
            new.set_weights(old.get_weights())
    return copy
