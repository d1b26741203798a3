"""Convolutions of small feature maps as one matrix multiply.

On CPU, TF's oneDNN convolutions re-lay out the kernel on every call, so the deep layers
of a U-Net (a few pixels, millions of weights) run at a fraction of the machine's speed:
at batch 4 a 4x4 stride-2 convolution from 8x8x512 to 4x4x512 takes 14.0 ms forward and
backward, 9.0 ms as patches x kernel. Here:

* ``patch_conv2d``: ``extract_patches`` then one matmul with the kernel viewed as
  [kh*kw*in, out] (the layout of a Keras Conv2D kernel, no copy).
* ``tap_conv2d_transpose``: one matmul of every input pixel with every kernel tap
  ([in] x [kh*kw*out], the Keras Conv2DTranspose kernel as is), then the overlap-add of
  the taps, written per output phase as shifted sums and interleaved.

The windows and the overlap-add are each other's adjoint and each is the other's custom
gradient, so the backward pass is one ``extract_patches`` or one overlap-add, not a pile of
slice gradients. Results equal TF's convolutions up to float rounding (tests).
:class:`Conv2D` and :class:`Conv2DTranspose` are the Keras layers (same weights, config and
checkpoints) that take this path where it was measured faster (the thresholds below) and TF's
own kernel otherwise (and always when a GPU is visible: not measured there yet). Inside
``tf_kernels()`` every layer uses TF's kernels: for TFLite, which has no EXTRACT_PATCHES op
and fast convolutions of its own.
"""

import contextlib
import threading

import keras
import tensorflow as tf

# Where the matmul path is taken, from forward + backward timings on a 2-core AVX-512 CPU at
# batch 1, 4 and 16 (bench/README.md, bench/bench_matmul_conv.py): 4x4 stride-2 convolutions
# (the pix2pix / DCGAN encoder) with an output map of at most 8x8 (1.04-3.3x faster; from a
# 16x16 output up, and for 3x3, 5x5, 6x6 or stride-1 kernels at any size, TF's kernel is as
# fast or faster), and transposed convolutions from an input map of at most 16x16 (1.1-7x
# faster for 2x2, 3x3 and 4x4 kernels) or to at most 2 channels at any size (the ab head:
# 1.04-2.6x from 16x16 to 128x128; to 3 channels it is 0.5-0.9x).
CONV_KERNEL, CONV_STRIDE, CONV_MAX_OUTPUT_PIXELS = (4, 4), (2, 2), 64
TRANSPOSE_MAX_INPUT_PIXELS, TRANSPOSE_MAX_FILTERS = 256, 2


def _same_pad_before(size_in, size_out, kernel, stride):
    return max((size_out - 1) * stride + kernel - size_in, 0) // 2


def _image_to_taps(image, kernel, stride, before, count):
    """Windows of a zero-padded image: [B, H, W, C] -> [B, count_y, count_x, ky, kx, C].

    Window (i, j) starts at (stride * i - before) in the image. The adjoint of
    :func:`_taps_to_image` (its gradient, and the other way round).
    """
    (ky, kx), (sy, sx), (top, left), (ny, nx) = kernel, stride, before, count
    height, width, channels = image.shape[1], image.shape[2], image.shape[3]

    @tf.custom_gradient
    def forward(x):
        need_y, need_x = sy * (ny - 1) + ky, sx * (nx - 1) + kx
        x = x[:, :max(need_y - top, 0), :max(need_x - left, 0)]
        x = tf.pad(x, [[0, 0], [top, max(need_y - top - height, 0)], [left, max(need_x - left - width, 0)],
                       [0, 0]])
        patches = tf.image.extract_patches(x, [1, ky, kx, 1], [1, sy, sx, 1], [1, 1, 1, 1], "VALID")
        taps = tf.reshape(patches, [-1, ny, nx, ky, kx, channels])
        return taps, lambda d: _taps_to_image(d, stride, before, (height, width))

    return forward(image)


def _taps_to_image(taps, stride, before, size):
    """Overlap-add: [B, h, w, ky, kx, C] -> [B, H, W, C], tap (a, b) of window (i, j) added at
    (stride * i + a - before); the adjoint of :func:`_image_to_taps`."""
    (sy, sx), (top, left), (height, width) = stride, before, size
    h, w, ky, kx, channels = taps.shape[1:]

    @tf.custom_gradient
    def forward(y):
        batch = tf.shape(y)[0]
        qy, qx = -(-ky // sy), -(-kx // sx)
        # Tap s*q + r as (q, r), the taps padded with zeros to qy*sy x qx*sx; full position
        # s*t + r (t < h + q - 1) sums y[t - q', tap (q', r)] over q': one shifted slice per
        # (q'y, q'x) holds every output phase r (a slice per tap and phase was 4x the graph's
        # ops to trace, and the same sums in the same order).
        y = tf.pad(y, [[0, 0], [qy - 1, qy - 1], [qx - 1, qx - 1], [0, qy * sy - ky], [0, qx * sx - kx], [0, 0]])
        th, tw = h + qy - 1, w + qx - 1
        y = tf.reshape(y, [batch, th + qy - 1, tw + qx - 1, qy, sy, qx, sx, channels])
        terms = [y[:, qy - 1 - dy:qy - 1 - dy + th, qx - 1 - dx:qx - 1 - dx + tw, dy, :, dx]
                 for dy in range(qy) for dx in range(qx)]  # [B, th, tw, sy, sx, C] each
        full = tf.add_n(terms) if len(terms) > 1 else terms[0]
        full = tf.reshape(tf.transpose(full, [0, 1, 3, 2, 4, 5]), [batch, th * sy, tw * sx, channels])
        full = tf.pad(full, [[0, 0], [0, max(top + height - th * sy, 0)], [0, max(left + width - tw * sx, 0)],
                             [0, 0]])
        return full[:, top:top + height, left:left + width], lambda d: _image_to_taps(
            d, (ky, kx), stride, before, (h, w))

    return forward(taps)


def patch_conv2d(x, kernel, strides, padding):
    """``tf.nn.conv2d(x, kernel, strides, padding)`` (NHWC, no dilation) as patches x kernel.

    Args:
      x: [B, H, W, in] with static H, W.
      kernel: [kh, kw, in, out].
      strides: (sh, sw).
      padding: 'same' or 'valid'.
    """
    kernel = tf.convert_to_tensor(kernel)
    kh, kw, cin, cout = kernel.shape
    height, width = x.shape[1], x.shape[2]
    sh, sw = strides
    if padding == "same":
        out_h, out_w = -(-height // sh), -(-width // sw)
        top, left = _same_pad_before(height, out_h, kh, sh), _same_pad_before(width, out_w, kw, sw)
    else:
        out_h, out_w = (height - kh) // sh + 1, (width - kw) // sw + 1
        top = left = 0
    batch = tf.shape(x)[0]
    patches = _image_to_taps(x, (kh, kw), (sh, sw), (top, left), (out_h, out_w))
    y = tf.matmul(tf.reshape(patches, [-1, kh * kw * cin]), tf.reshape(kernel, [kh * kw * cin, cout]))
    return tf.reshape(y, [batch, out_h, out_w, cout])


def tap_conv2d_transpose(x, kernel, strides, padding):
    """``Conv2DTranspose`` (no dilation, no output padding) as one matmul + overlap-add.

    Args:
      x: [B, h, w, in] with static h, w.
      kernel: [kh, kw, out, in] (Keras's Conv2DTranspose layout).
      strides: (sh, sw).
      padding: 'same' (output s*h) or 'valid' (output (h-1)*s + max(k, s)).
    """
    kernel = tf.convert_to_tensor(kernel)
    kh, kw, cout, cin = kernel.shape
    h, w = x.shape[1], x.shape[2]
    sh, sw = strides
    if padding == "same":
        out_h, out_w = h * sh, w * sw
        top, left = _same_pad_before(out_h, h, kh, sh), _same_pad_before(out_w, w, kw, sw)
    else:
        out_h, out_w = (h - 1) * sh + max(kh, sh), (w - 1) * sw + max(kw, sw)
        top = left = 0
    batch = tf.shape(x)[0]
    y = tf.matmul(tf.reshape(x, [-1, cin]), tf.reshape(kernel, [kh * kw * cout, cin]), transpose_b=True)
    y = tf.reshape(y, [batch, h, w, kh, kw, cout])
    return _taps_to_image(y, (sh, sw), (top, left), (out_h, out_w))


_state = threading.local()


@contextlib.contextmanager
def tf_kernels():
    """Layers called (traced) inside use TF's own convolution kernels only."""
    previous = getattr(_state, "tf_kernels", False)
    _state.tf_kernels = True
    try:
        yield
    finally:
        _state.tf_kernels = previous


def _static_pixels(shape):
    """H * W of an NHWC shape, None when either is unknown."""
    return None if shape[1] is None or shape[2] is None else shape[1] * shape[2]


def _cpu_only():
    """The thresholds are CPU measurements: with a GPU visible, cuDNN's kernels are kept."""
    return not tf.config.list_logical_devices("GPU")


def _plain(layer):
    """A 2-D, channels-last, undilated, ungrouped convolution, outside ``tf_kernels()``, on CPU."""
    return (not getattr(_state, "tf_kernels", False) and _cpu_only() and layer.data_format == "channels_last"
            and layer.rank == 2 and tuple(layer.dilation_rate) == (1, 1) and getattr(layer, "groups", 1) == 1)


@keras.saving.register_keras_serializable(package="tfcolor")
class Conv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D that computes small output maps as patches x kernel."""

    def _matmul_path(self, input_shape):
        if (not _plain(self) or self.padding not in ("same", "valid") or _static_pixels(input_shape) is None
                or tuple(self.kernel_size) != CONV_KERNEL or tuple(self.strides) != CONV_STRIDE):
            return False
        return _static_pixels(self.compute_output_shape(input_shape)) <= CONV_MAX_OUTPUT_PIXELS

    def convolution_op(self, inputs, kernel):
        if self._matmul_path(inputs.shape):
            return patch_conv2d(inputs, kernel, tuple(self.strides), self.padding)
        return super().convolution_op(inputs, kernel)


@keras.saving.register_keras_serializable(package="tfcolor")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose that computes small input maps (and any map to at most
    two channels) as one matmul + overlap-add."""

    def _matmul_path(self, input_shape):
        pixels = _static_pixels(input_shape)
        return (_plain(self) and self.output_padding is None and self.padding in ("same", "valid")
                and pixels is not None
                and (pixels <= TRANSPOSE_MAX_INPUT_PIXELS or self.filters <= TRANSPOSE_MAX_FILTERS))

    def call(self, inputs):
        if not self._matmul_path(inputs.shape):
            return super().call(inputs)
        outputs = tap_conv2d_transpose(inputs, self.kernel, tuple(self.strides), self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            return self.activation(outputs)
        return outputs
