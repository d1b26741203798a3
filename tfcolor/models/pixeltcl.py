"""PixelTCL: the pixel transposed convolutional layer (Gao, Yuan, Wang, Ji 2017,
"Pixel Transposed Convolutional Networks"), a 2x upsampling without the
checkerboard artefacts of transposed convolutions.

Transposed convolutions fill the 2x2 output block of an input pixel with
independent kernels, so adjacent output pixels are unrelated. PixelTCL makes
them depend on each other:

1. ``F1 = conv(x)``; ``F2 = conv(F1)``: F2 depends on F1.
2. F1 and F2 are interleaved on a diagonal checkerboard of the 2x output:
   ``out[2i, 2j] = F1[i, j]``, ``out[2i+1, 2j+1] = F2[i, j]``, zeros elsewhere.
3. The empty pixels are filled from their four neighbours (all filled) by one
   3x3 convolution whose kernel is masked to the cross
   ``[[0,1,0],[1,0,1],[0,1,0]]``: ``output = combined + masked_conv(combined)``.
"""

import keras
from keras import ops

from tfcolor.models.layers import cross_mask, kernel_initializer


def interleave_diagonal(f1, f2):
    """[B, H, W, C] x2 -> [B, 2H, 2W, C] with f1 on even/even and f2 on odd/odd pixels."""
    zeros = ops.zeros_like(f1)
    even_rows = ops.stack([f1, zeros], axis=3)  # [B, H, W, 2, C]
    odd_rows = ops.stack([zeros, f2], axis=3)
    blocks = ops.stack([even_rows, odd_rows], axis=2)  # [B, H, 2, W, 2, C]
    shape = ops.shape(f1)
    return ops.reshape(blocks, (-1, shape[1] * 2, shape[2] * 2, shape[3]))


@keras.saving.register_keras_serializable(package="tfcolor")
class PixelTCL(keras.layers.Layer):
    """2x upsampling by a pixel transposed convolutional layer."""

    def __init__(self, filters, kernel_size=3, init="normal", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.init = init
        make = lambda name: keras.layers.Conv2D(  # noqa: E731
            filters, kernel_size, padding="same", kernel_initializer=kernel_initializer(init), name=name
        )
        self.conv1 = make("f1")
        self.conv2 = make("f2")

    def build(self, input_shape):
        self.conv1.build(input_shape)
        self.conv2.build(tuple(input_shape[:-1]) + (self.filters,))
        self.masked_kernel = self.add_weight(
            name="masked_kernel", shape=(3, 3, self.filters, self.filters),
            initializer=kernel_initializer(self.init),
        )
        self.masked_bias = self.add_weight(name="masked_bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        f1 = self.conv1(x)
        f2 = self.conv2(f1)
        combined = interleave_diagonal(f1, f2)
        kernel = self.masked_kernel * ops.convert_to_tensor(cross_mask())[:, :, None, None]
        filled = ops.conv(combined, kernel, padding="same") + self.masked_bias
        return combined + filled

    def compute_output_shape(self, shape):
        double = lambda d: None if d is None else 2 * d  # noqa: E731
        return (shape[0], double(shape[1]), double(shape[2]), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "init": self.init}
