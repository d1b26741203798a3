"""Train-step throughput of tfcolor's Pix2Pix against a plain tutorial-style step.

The tutorial style (TF's pix2pix tutorial): one tf.function, two GradientTapes, D called
on real and on fake separately, the networks built from stock Keras layers
(keras.layers.BatchNormalization, Conv2D, Conv2DTranspose, 1x1 Conv2D) and Keras's Adam.
Same architectures, losses and hyperparameters.

Example usage:

    python -m bench.bench_train_step --size=256 --batches=1,4 --steps=4
    python -m bench.bench_train_step --size=32 --batches=64 --steps=20
"""

import contextlib
import time

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

from tfcolor import gans, models
from tfcolor.models import discriminators, layers, matmul_conv

flags.DEFINE_integer("size", 256, "Image size: 256 (U-Net + 70x70 PatchGAN) or 32 (small U-Net + PixelGAN).")
flags.DEFINE_list("batches", ["1", "4"], "Batch sizes.")
flags.DEFINE_integer("steps", 4, "Timed steps per run.")
flags.DEFINE_integer("repeats", 2, "Runs per variant (interleaved).")
flags.DEFINE_list("variants", ["tutorial", "tfcolor"],
                  "Variants to time: tutorial, tfcolor, and the ablations tfcolor_tf_kernels (no matmul "
                  "path for small maps), tfcolor_keras_adam (Keras's Adam), tfcolor_xla (jit_compile); "
                  "tfcolor_bf16 (mixed_bfloat16 compute, not like for like).")
FLAGS = flags.FLAGS


@contextlib.contextmanager
def stock_keras_layers():
    """Builds the same architectures with Keras's BatchNormalization, Conv2D, Conv2DTranspose
    and 1x1 Conv2D."""
    saved = (layers.FusedBatchNormalization, discriminators._dense, matmul_conv.Conv2D,
             matmul_conv.Conv2DTranspose)
    layers.FusedBatchNormalization = lambda **kw: keras.layers.BatchNormalization(**kw)
    discriminators._dense = lambda units, init, norm, name, use_bias=None: layers.conv(
        units, 1, 1, init, norm, use_bias=use_bias, name=name)
    matmul_conv.Conv2D, matmul_conv.Conv2DTranspose = keras.layers.Conv2D, keras.layers.Conv2DTranspose
    try:
        yield
    finally:
        (layers.FusedBatchNormalization, discriminators._dense, matmul_conv.Conv2D,
         matmul_conv.Conv2DTranspose) = saved


def networks(size):
    keras.utils.set_random_seed(0)
    if size == 32:
        return (models.build_generator("unet_small", image_size=32),
                models.build_discriminator("pixelgan", image_size=32))
    return (models.build_generator("unet", image_size=size),
            models.build_discriminator("patchgan", image_size=size, n_layers=3))


def tutorial_step_fn(g, d):
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(l, ab):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = g(l, training=True)
            real_out = d([l, ab], training=True)
            fake_out = d([l, fake], training=True)
            g_loss = bce(tf.ones_like(fake_out), fake_out) + 100.0 * tf.reduce_mean(tf.abs(ab - fake))
            d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
        return g_loss

    return step


def tfcolor_step_fn(g, d, jit, keras_adam=False):
    gan = gans.Pix2Pix(g, d)
    if keras_adam:
        gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    else:
        gan.compile()
    step = tf.function(lambda l, ab: gan.train_step((l, ab)), jit_compile=jit)
    return step


def time_variant(name, size, batch):
    """Variants: tutorial, tfcolor, and tfcolor without one of its parts (ablations):
    tfcolor_tf_kernels (no matmul path for small maps), tfcolor_keras_adam (Keras's Adam),
    tfcolor_xla (jit_compile); tfcolor_bf16 computes in bfloat16 (mixed_bfloat16)."""
    if name == "tfcolor_tf_kernels":
        with matmul_conv.tf_kernels():  # the layers read it when the step is traced
            return _time_variant(name, size, batch)
    if name == "tfcolor_bf16":  # not a like-for-like comparison: bfloat16 compute
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            return _time_variant(name, size, batch)
        finally:
            keras.mixed_precision.set_global_policy("float32")
    return _time_variant(name, size, batch)


def _time_variant(name, size, batch):
    if name == "tutorial":
        with stock_keras_layers():
            g, d = networks(size)
    else:
        g, d = networks(size)
    if name == "tutorial":
        step = tutorial_step_fn(g, d)
    else:
        step = tfcolor_step_fn(g, d, jit=name.endswith("xla"), keras_adam=name == "tfcolor_keras_adam")
    rng = np.random.default_rng(0)
    l = tf.constant(rng.uniform(-1, 1, (batch, size, size, 1)), tf.float32)
    ab = tf.constant(rng.uniform(-0.5, 0.5, (batch, size, size, 2)), tf.float32)
    step(l, ab)  # trace / compile
    step(l, ab)
    start = time.perf_counter()
    for _ in range(FLAGS.steps):
        result = step(l, ab)
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return FLAGS.steps * batch / (time.perf_counter() - start)


def main(argv):
    del argv
    for batch in map(int, FLAGS.batches):
        results = {name: [] for name in FLAGS.variants}
        for _ in range(FLAGS.repeats):
            for name in FLAGS.variants:
                results[name].append(time_variant(name, FLAGS.size, batch))
        base = max(results["tutorial"]) if "tutorial" in results else None
        print(f"size {FLAGS.size}, batch {batch}, {FLAGS.steps} steps per run")
        for name, rates in results.items():
            ratio = f"  ({max(rates) / base:.2f}x tutorial)" if base else ""
            print(f"  {name:12s} " + " ".join(f"{r:8.2f}" for r in rates) + f"  best {max(rates):8.2f} img/s{ratio}",
                  flush=True)


if __name__ == "__main__":
    app.run(main)
