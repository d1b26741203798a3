"""Train-step throughput of tfcolor's Pix2Pix against a plain tutorial-style step.

The tutorial style (TF's pix2pix tutorial): one tf.function, two GradientTapes, D called
on real and on fake separately, the networks built from stock Keras layers
(keras.layers.BatchNormalization, Conv2D, Conv2DTranspose, 1x1 Conv2D) and Keras's Adam.
Same architectures, losses and hyperparameters.

With --gan=wgan_gp both steps train WGAN-GP (layer-norm critic, gradient penalty with a nested
tape, n_critic = 5): the tutorial style as keras-io's WGAN-GP example (5 critic steps, then a
generator step with its own forward passes), tfcolor's step as in training (4 critic steps,
then one joint step whose critic pass also serves the generator update).

--precisions and --jit run every variant under each Keras dtype policy (mixed_float16 with
loss scaling in both steps) with and without XLA (jit_compile on the whole step). On a GPU the
peak memory of each variant (TensorFlow's allocator) is reported too.

Example usage:

    python -m bench.bench_train_step --size=256 --batches=1,4 --steps=4
    python -m bench.bench_train_step --size=32 --batches=64 --steps=20
    python -m bench.bench_train_step --size=256 --batches=16 --precisions=float32,mixed_float16 --jit=0,1
"""

import contextlib
import json
import os
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
flags.DEFINE_list("precisions", ["float32"], "Keras dtype policies: float32, mixed_float16, mixed_bfloat16.")
flags.DEFINE_list("jit", ["0"], "1: the whole step under XLA (jit_compile), 0: not; both: 0,1.")
flags.DEFINE_enum("gan", "pix2pix", ["pix2pix", "wgan_gp"], "Objective of both steps.")
flags.DEFINE_string("json_out", "", "Also write every run's img/s (and peak GPU memory) here as JSON, after each "
                    "batch size: added to the file's records, a record of the same variant, size, batch, "
                    "precision and XLA replaced (a run split over several calls fills one file).")
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


def networks(size, gan="pix2pix"):
    keras.utils.set_random_seed(0)
    norm = "layer" if gan == "wgan_gp" else "batch"  # WGAN-GP: no BatchNorm in the critic
    if size == 32:
        return (models.build_generator("unet_small", image_size=32),
                models.build_discriminator("pixelgan", image_size=32, norm=norm))
    return (models.build_generator("unet", image_size=size),
            models.build_discriminator("patchgan", image_size=size, n_layers=3, norm=norm))


def matmul_layers(*networks_):
    """How many convolutions take tfcolor's CPU matmul path (must be 0 with a GPU visible)."""
    return sum(1 for net in networks_ for layer in layers.all_layers(net)
               if hasattr(layer, "_matmul_path") and layer._matmul_path(layer.input.shape))


def _loss_scaled(optimizer):
    """Under mixed_float16 the tutorial style scales its losses too (Keras 3's recipe)."""
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _apply(tape, loss, optimizer, variables):
    grads = tape.gradient(optimizer.scale_loss(loss), variables)
    optimizer.apply_gradients(zip(grads, variables))


def tutorial_step_fn(g, d, jit=False):
    g_opt = _loss_scaled(keras.optimizers.Adam(2e-4, beta_1=0.5))
    d_opt = _loss_scaled(keras.optimizers.Adam(2e-4, beta_1=0.5))
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function(jit_compile=jit)
    def step(l, ab):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = g(l, training=True)
            real_out = tf.cast(d([l, ab], training=True), tf.float32)
            fake_out = tf.cast(d([l, fake], training=True), tf.float32)
            l1 = tf.reduce_mean(tf.abs(ab - tf.cast(fake, tf.float32)))
            g_loss = bce(tf.ones_like(fake_out), fake_out) + 100.0 * l1
            d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        _apply(g_tape, g_loss, g_opt, g.trainable_variables)
        _apply(d_tape, d_loss, d_opt, d.trainable_variables)
        return g_loss

    return step


def tutorial_wgan_gp_step_fn(g, d, jit=False, n_critic=5, gp_weight=10.0):
    """keras-io's WGAN-GP recipe: n_critic critic updates, then one generator update."""
    g_opt = _loss_scaled(keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9))
    d_opt = _loss_scaled(keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9))

    @tf.function(jit_compile=jit)
    def step(l, ab):
        for _ in range(n_critic):
            with tf.GradientTape() as tape:
                fake = g(l, training=True)
                real_out = tf.cast(d([l, ab], training=True), tf.float32)
                fake_out = tf.cast(d([l, fake], training=True), tf.float32)
                alpha = tf.random.uniform([tf.shape(ab)[0], 1, 1, 1])
                mixed = ab + alpha * (tf.cast(fake, tf.float32) - ab)
                with tf.GradientTape() as gp_tape:
                    gp_tape.watch(mixed)
                    mixed_out = tf.cast(d([l, mixed], training=True), tf.float32)
                norm = tf.sqrt(tf.reduce_sum(tf.square(gp_tape.gradient(mixed_out, mixed)), axis=[1, 2, 3]) + 1e-12)
                penalty = gp_weight * tf.reduce_mean((norm - 1.0) ** 2)
                d_loss = tf.reduce_mean(fake_out) - tf.reduce_mean(real_out) + penalty
            _apply(tape, d_loss, d_opt, d.trainable_variables)
        with tf.GradientTape() as tape:
            fake = g(l, training=True)
            fake_out = tf.cast(d([l, fake], training=True), tf.float32)
            g_loss = -tf.reduce_mean(fake_out) + 100.0 * tf.reduce_mean(tf.abs(ab - tf.cast(fake, tf.float32)))
        _apply(tape, g_loss, g_opt, g.trainable_variables)
        return g_loss

    return step


def tfcolor_step_fn(g, d, jit, keras_adam=False, gan_name="pix2pix"):
    gan = gans.build_gan(gan_name, g, d)
    if keras_adam:
        gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    else:
        gan.compile()
    step = tf.function(lambda l, ab: gan.train_step((l, ab)), jit_compile=jit)
    return step


def time_variant(name, size, batch, precision="float32", jit=False):
    """Variants: tutorial, tfcolor, and tfcolor without one of its parts (ablations):
    tfcolor_tf_kernels (no matmul path for small maps), tfcolor_keras_adam (Keras's Adam),
    tfcolor_xla (jit_compile); tfcolor_bf16 computes in bfloat16 (mixed_bfloat16).
    Returns (img/s, peak GPU memory in MiB or None)."""
    if name == "tfcolor_bf16":  # not a like-for-like comparison: bfloat16 compute
        name, precision = "tfcolor", "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(precision)
    gpu = bool(tf.config.list_logical_devices("GPU"))
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    try:
        if name == "tfcolor_tf_kernels":
            with matmul_conv.tf_kernels():  # the layers read it when the step is traced
                rate = _time_variant(name, size, batch, jit)
        else:
            rate = _time_variant(name, size, batch, jit)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20 if gpu else None
    return rate, peak


def _time_variant(name, size, batch, jit):
    if name == "tutorial":
        with stock_keras_layers():
            g, d = networks(size, FLAGS.gan)
    else:
        g, d = networks(size, FLAGS.gan)
    if name == "tutorial":
        step = (tutorial_wgan_gp_step_fn if FLAGS.gan == "wgan_gp" else tutorial_step_fn)(g, d, jit)
    else:
        step = tfcolor_step_fn(g, d, jit=jit or name.endswith("xla"), keras_adam=name == "tfcolor_keras_adam",
                               gan_name=FLAGS.gan)
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
    device = tf.config.list_logical_devices("GPU")
    device = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0]).get(
        "device_name", "GPU") if device else "CPU"
    records = []
    matmul = matmul_layers(*networks(FLAGS.size, FLAGS.gan))
    for precision in FLAGS.precisions:
        for jit in (bool(int(j)) for j in FLAGS.jit):
            for batch in map(int, FLAGS.batches):
                results = {name: [] for name in FLAGS.variants}
                peaks = {}
                for _ in range(FLAGS.repeats):
                    for name in FLAGS.variants:
                        rate, peaks[name] = time_variant(name, FLAGS.size, batch, precision, jit)
                        results[name].append(rate)
                base = max(results["tutorial"]) if "tutorial" in results else None
                print(f"{FLAGS.gan} size {FLAGS.size}, batch {batch}, {precision}, xla {int(jit)}, "
                      f"{FLAGS.steps} steps per run, {device}")
                for name, rates in results.items():
                    ratio = f"  ({max(rates) / base:.2f}x tutorial)" if base else ""
                    peak = f", peak {peaks[name]:.0f} MiB" if peaks[name] is not None else ""
                    print(f"  {name:12s} " + " ".join(f"{r:8.2f}" for r in rates)
                          + f"  best {max(rates):8.2f} img/s{ratio}{peak}", flush=True)
                    records.append({"matmul_layers": matmul, "gan": FLAGS.gan, "size": FLAGS.size, "batch": batch,
                                    "precision": precision, "xla": jit, "variant": name, "img_per_s": rates,
                                    "best": max(rates),
                                    "vs_tutorial": max(rates) / base if base else None,
                                    "peak_mib": peaks[name], "device": device})
                if FLAGS.json_out:
                    save_records(FLAGS.json_out, records)


def _key(record):
    return tuple(record[k] for k in ("gan", "size", "batch", "precision", "xla", "variant"))


def save_records(path, records):
    """Writes records into the JSON list at path, replacing the file's records of the same key."""
    old = []
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    new = {_key(r) for r in records}
    with open(path + ".tmp", "w") as f:
        json.dump([r for r in old if _key(r) not in new] + records, f, indent=1)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    app.run(main)
