"""Small-map convolutions as matmuls: equal to TF's convolutions in values and gradients,
and the layers take the path exactly where they should."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcolor.models import matmul_conv

CASES = [(size, kernel, stride, padding)
         for size in (1, 2, 3, 5, 8)
         for kernel in (1, 2, 3, 4, 5)
         for stride in (1, 2, 3)
         for padding in ("same", "valid")
         if not (padding == "valid" and size < kernel)]


def _values_and_grads(fn, x, kernel):
    x, kernel = tf.constant(x), tf.constant(kernel)
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = fn(x, kernel)
        # A non-uniform cotangent, so every position of the gradient is checked.
        weights = tf.reshape(tf.sin(tf.range(tf.size(y), dtype=tf.float32)), tf.shape(y))
        loss = tf.reduce_sum(y * weights)
    return [y.numpy()] + [g.numpy() for g in tape.gradient(loss, [x, kernel])]


@pytest.mark.parametrize("size,kernel,stride,padding", CASES)
def test_patch_conv2d_equals_tf_conv2d(size, kernel, stride, padding):
    rng = np.random.default_rng(size * 100 + kernel * 10 + stride)
    x = rng.normal(size=(2, size, size + 1, 3)).astype(np.float32)
    w = rng.normal(size=(kernel, kernel, 3, 4)).astype(np.float32)
    ref = _values_and_grads(lambda x, w: tf.nn.conv2d(x, w, stride, padding.upper()), x, w)
    got = _values_and_grads(lambda x, w: matmul_conv.patch_conv2d(x, w, (stride, stride), padding), x, w)
    for r, g in zip(ref, got):
        assert r.shape == g.shape
        np.testing.assert_allclose(g, r, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("size,kernel,stride,padding", CASES)
def test_tap_conv2d_transpose_equals_keras_conv2d_transpose(size, kernel, stride, padding):
    rng = np.random.default_rng(size * 100 + kernel * 10 + stride)
    x = rng.normal(size=(2, size, size + 1, 3)).astype(np.float32)
    w = rng.normal(size=(kernel, kernel, 4, 3)).astype(np.float32)  # [k, k, out, in]
    layer = keras.layers.Conv2DTranspose(4, kernel, strides=stride, padding=padding, use_bias=False)
    layer.build(x.shape)
    layer.kernel.assign(w)
    out_shape = layer.compute_output_shape(x.shape)
    ref = _values_and_grads(lambda x, w: tf.nn.conv2d_transpose(x, w, out_shape, stride, padding.upper()), x, w)
    np.testing.assert_allclose(ref[0], layer(x).numpy(), atol=1e-4)  # the reference is Keras's layer
    got = _values_and_grads(lambda x, w: matmul_conv.tap_conv2d_transpose(x, w, (stride, stride), padding), x, w)
    for r, g in zip(ref, got):
        assert r.shape == g.shape
        np.testing.assert_allclose(g, r, atol=1e-4, rtol=1e-4)


def _op_types(layer, shape):
    fn = tf.function(lambda x: layer(x)).get_concrete_function(tf.TensorSpec(shape, tf.float32))
    return {op.type for op in fn.graph.get_operations()}


def _pair(ours, stock, shape):
    """Our layer and Keras's with the same random weights (bias too); both outputs."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    ours.build(shape)
    stock.build(shape)
    stock.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in stock.get_weights()])
    ours.set_weights(stock.get_weights())
    return ours(x).numpy(), stock(x).numpy()


@pytest.mark.parametrize("size,kernel,strides,takes_matmul", [
    (4, 4, 2, True), (16, 4, 2, True), (18, 4, 2, False), (32, 4, 2, False),  # outputs 2, 8, 9, 16
    (8, 3, 2, False), (8, 4, 1, False), (8, 5, 2, False)])  # other kernels: TF's is as fast or faster
def test_conv2d_layer_takes_the_matmul_path_only_for_small_outputs_of_4x4_stride_2(size, kernel, strides,
                                                                                   takes_matmul):
    kwargs = dict(filters=8, kernel_size=kernel, strides=strides, padding="same")
    shape = (2, size, size, 5)
    layer = matmul_conv.Conv2D(**kwargs)
    ours, stock = _pair(layer, keras.layers.Conv2D(**kwargs), shape)
    np.testing.assert_allclose(ours, stock, atol=1e-3)
    types = _op_types(layer, shape)
    assert ("ExtractImagePatches" in types) == takes_matmul
    assert ("Conv2D" in types) != takes_matmul


@pytest.mark.parametrize("size,kernel,filters,takes_matmul", [
    (1, 4, 8, True), (16, 4, 8, True), (16, 3, 8, True), (17, 4, 8, False), (32, 3, 8, False),
    (32, 4, 2, True), (32, 4, 3, False)])  # the ab head (2 channels) at any size
def test_conv2d_transpose_layer_takes_the_matmul_path_for_small_inputs_or_two_channels(size, kernel, filters,
                                                                                      takes_matmul):
    kwargs = dict(filters=filters, kernel_size=kernel, strides=2, padding="same")
    shape = (2, size, size, 6)
    layer = matmul_conv.Conv2DTranspose(**kwargs)
    ours, stock = _pair(layer, keras.layers.Conv2DTranspose(**kwargs), shape)
    np.testing.assert_allclose(ours, stock, atol=1e-3)
    types = _op_types(layer, shape)
    assert ("Conv2DBackpropInput" not in types) == takes_matmul


def test_tf_kernels_context_switches_the_matmul_path_off():
    layer = matmul_conv.Conv2D(8, 4, strides=2, padding="same")
    transposed = matmul_conv.Conv2DTranspose(8, 4, strides=2, padding="same")
    with matmul_conv.tf_kernels():
        assert "ExtractImagePatches" not in _op_types(layer, (1, 8, 8, 4))
        assert "Conv2DBackpropInput" in _op_types(transposed, (1, 4, 4, 4))
    assert "ExtractImagePatches" in _op_types(layer, (1, 8, 8, 4))


def test_unknown_spatial_size_uses_tf_kernels():
    layer = matmul_conv.Conv2D(8, 4, strides=2, padding="same")
    assert "Conv2D" in _op_types(layer, (1, None, None, 4))


def test_matmul_path_under_spectral_normalization_and_bfloat16():
    shape = (2, 8, 8, 6)
    x = tf.random.stateless_normal(shape, seed=[3, 4])
    ours = keras.layers.SpectralNormalization(matmul_conv.Conv2D(8, 4, strides=2, padding="same"))
    stock = keras.layers.SpectralNormalization(keras.layers.Conv2D(8, 4, strides=2, padding="same"))
    ours.build(shape)
    stock.build(shape)
    ours.set_weights(stock.get_weights())
    np.testing.assert_allclose(ours(x, training=True).numpy(), stock(x, training=True).numpy(), atol=1e-4)

    layer = matmul_conv.Conv2DTranspose(8, 4, strides=2, padding="same", dtype="mixed_bfloat16")
    y = layer(x)
    assert y.dtype == tf.bfloat16
    full = tf.nn.conv2d_transpose(x, layer.kernel, (2, 16, 16, 8), 2, "SAME") + layer.bias
    np.testing.assert_allclose(tf.cast(y, tf.float32).numpy(), full.numpy(), atol=0.05 * float(tf.reduce_max(full)))
