"""Size, latency and accuracy of the TFLite variants (fp32, fp16, int8) against TF.

Speed: the pix2pix U-Net 256 (54.4 M parameters, random weights) in TF/Keras fp32 and in
each TFLite variant (ai-edge-litert, XNNPACK), best of --repeats; plus, with
--with_transposed, two models that keep TRANSPOSE_CONV (tfcolor rewrites it as conv +
depth_to_space): full-integer int8, and the plain dynamic-range conversion (int8 weights,
float activations), whose hybrid transposed convolution runs on a slow reference kernel.

Accuracy: a trained generator (--model_dir, e.g. the quick start's) colourises the embedded
sample photos at full resolution through the SavedModel graph (TF) and each TFLite
variant; PSNR against the real colours, and max |ab| difference of the bare network.

Example usage:

    python -m bench.bench_tflite --model_dir=runs/quickstart/model --with_transposed
"""

import os

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

from bench.common import best_seconds
from data_prep.sample_photos import sample_photos
from tfcolor import models
from tfcolor.core import color
from tfcolor.deploy import inference, lite
from tfcolor.deploy.serving import load_generator

flags.DEFINE_integer("size", 256, "Generator size for the speed part.")
flags.DEFINE_integer("repeats", 5, "Timed runs per variant (best is kept).")
flags.DEFINE_integer("threads", 0, "TFLite threads (0: all cores).")
flags.DEFINE_bool("with_transposed", False, "Also time int8 with TRANSPOSE_CONV kept (slow).")
flags.DEFINE_string("model_dir", "runs/quickstart/model", "Trained run for the accuracy part ('' skips).")
FLAGS = flags.FLAGS


def calibration_photos(size, count=32):
    photos = list(sample_photos().values())
    rng = np.random.default_rng(0)
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        side = int(rng.integers(min(photo.shape[:2]) // 2, min(photo.shape[:2])))
        top = int(rng.integers(0, photo.shape[0] - side + 1))
        left = int(rng.integers(0, photo.shape[1] - side + 1))
        crop = tf.image.resize(photo[top:top + side, left:left + side], [size, size], antialias=True)
        crops.append(crop.numpy().round().astype(np.uint8))
    return crops


def dynamic_range(generator, size):
    """The plain post-training dynamic-range conversion of the unchanged generator."""
    import tempfile

    module = lite.mobile_module(generator, size, rewrite_transposed=False, signatures=("colorize", "generator"))
    with tempfile.TemporaryDirectory() as tmp:
        tf.saved_model.save(module, tmp, signatures={"colorize": module.colorize,
                                                     "generator": module.generator})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["colorize", "generator"])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def best_ms(fn, repeats):
    return 1000 * best_seconds(fn, repeats)


def speed():
    size, threads = FLAGS.size, FLAGS.threads or os.cpu_count()
    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet", image_size=size)
    photos = calibration_photos(size)
    l_norm = color.normalize_l(color.rgb_to_lab(photos[0][None].astype(np.float32) / 255)[..., :1]).numpy()
    photo = np.asarray(tf.image.resize(sample_photos()["coffee"], [768, 1024])).round().astype(np.uint8)
    keras_call = tf.function(lambda x: generator(x, training=False))
    rows = [("TF/Keras fp32 (reference)", generator.count_params() * 4, lambda: keras_call(l_norm).numpy(),
             None)]
    builds = [(v, lambda v=v: lite.convert(generator, size, v, photos)) for v in lite.VARIANTS]
    if FLAGS.with_transposed:
        builds.append(("int8, TRANSPOSE_CONV kept",
                       lambda: lite.convert(generator, size, "int8", photos, rewrite_transposed=False)))
        builds.append(("dynamic-range int8, TRANSPOSE_CONV kept", lambda: dynamic_range(generator, size)))
    for label, build in builds:
        model = build()
        interp = lite.interpreter(model, threads)
        net = interp.get_signature_runner("generator")
        rows.append((f"TFLite {label}", len(model), lambda net=net: net(l=l_norm),
                     lambda interp=interp: lite.colorize_with(interp, photo)))
    print(f"\nU-Net {size} generator, batch 1, {threads} threads, best of {FLAGS.repeats}:")
    print("| model | size MB | generator ms | full colorize 1024x768 ms |")
    print("|---|---|---|---|")
    for label, nbytes, run_net, run_photo in rows:
        repeats = 1 if "dynamic" in label else FLAGS.repeats
        net_ms = best_ms(run_net, repeats)
        photo_ms = f"{best_ms(run_photo, repeats):.0f}" if run_photo else "-"
        print(f"| {label} | {nbytes / 1e6:.1f} | {net_ms:.0f} | {photo_ms} |", flush=True)


def psnr(a, b):
    return float(tf.image.psnr(a.astype(np.float32), b.astype(np.float32), max_val=255.0))


def accuracy():
    generator, size = load_generator(FLAGS.model_dir)
    photos = sample_photos()
    calibration = calibration_photos(size)
    interps = {v: lite.interpreter(lite.convert(generator, size, v, calibration)) for v in lite.VARIANTS}
    print(f"\nTrained generator {FLAGS.model_dir} ({size} px), full-resolution sample photos:")
    print("| photo | size | gray (ab = 0) dB | TF dB | " + " | ".join(f"{v} dB" for v in lite.VARIANTS) + " |")
    print("|---|---|---|---|" + "---|" * len(lite.VARIANTS))
    diffs = {v: [] for v in lite.VARIANTS}
    totals = []
    for name, truth in photos.items():
        gray = inference.to_uint8(color.lab_to_rgb(color.rgb_to_lab(truth) * [1.0, 0.0, 0.0])).numpy()
        tf_out = inference.to_uint8(inference.colorize(generator, inference.to_float_rgb(truth[None]), size))[0]
        row = [psnr(gray, truth), psnr(tf_out.numpy(), truth)]
        row += [psnr(lite.colorize_with(interps[v], truth), truth) for v in lite.VARIANTS]
        totals.append(row)
        print(f"| {name} | {truth.shape[1]}x{truth.shape[0]} | " + " | ".join(f"{x:.2f}" for x in row) + " |")
        l_full = color.rgb_to_lab(truth[None].astype(np.float32) / 255.0)[..., :1]
        l_norm = color.normalize_l(inference.shrink(l_full, size)).numpy()
        expected = generator(l_norm, training=False).numpy()
        for v in lite.VARIANTS:
            diffs[v].append(np.abs(interps[v].get_signature_runner("generator")(l=l_norm)["ab"] - expected).max())
    mean = np.mean(totals, axis=0)
    print("| mean | | " + " | ".join(f"{x:.2f}" for x in mean) + " |")
    loss = np.array(totals)[:, 2] - np.array(totals)[:, 4]
    print(f"int8 PSNR loss vs fp32: mean {loss.mean():.2f} dB, worst {loss.max():.2f} dB")
    print("max |ab - Keras| (normalised ab): " + ", ".join(f"{v} {max(d):.1e}" for v, d in diffs.items()))


def main(argv):
    del argv
    speed()
    if FLAGS.model_dir and os.path.exists(os.path.join(FLAGS.model_dir, "generator.keras")):
        accuracy()


if __name__ == "__main__":
    app.run(main)
