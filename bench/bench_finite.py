"""Mixed precision stays finite: N training steps of each objective (pix2pix, WGAN, WGAN-GP)
in mixed_float16 (with loss scaling) and mixed_bfloat16 on real photo crops; every step's
losses are checked, the first non-finite one is reported.

    python -m bench.bench_finite --steps=500 --size=64 [--json_out=finite.json]
"""

import json
import math

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

from data_prep.sample_photos import sample_photos
from tfcolor import gans, models
from tfcolor.core import color

flags.DEFINE_integer("steps", 500, "Training steps per objective and precision.")
flags.DEFINE_integer("size", 64, "Crop size (3-layer PatchGAN critic).")
flags.DEFINE_integer("batch", 8, "Batch size.")
flags.DEFINE_string("generator", "unet", "Generator kind (bench/gpu.sh's smoke run takes unet_small: it traces in "
                    "a third of the time).")
flags.DEFINE_list("precisions", ["mixed_float16", "mixed_bfloat16"], "Keras dtype policies.")
flags.DEFINE_list("objectives", ["pix2pix", "wgan", "wgan_gp"], "GAN objectives.")
flags.DEFINE_string("json_out", "", "Also write the results here as JSON.")
FLAGS = flags.FLAGS


def crops(size, count=256, seed=0):
    rng = np.random.default_rng(seed)
    photos = list(sample_photos().values())
    out = []
    for i in range(count):
        photo = photos[i % len(photos)]
        top, left = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        out.append(photo[top:top + size, left:left + size])
    return color.split_lab(color.rgb_to_lab(np.stack(out)))


class FiniteCheck(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.first_bad, self.last = None, {}

    def on_train_batch_end(self, batch, logs=None):
        self.last = {k: float(v) for k, v in (logs or {}).items()}
        if self.first_bad is None and not all(math.isfinite(v) for v in self.last.values()):
            self.first_bad = {"step": batch + 1, "losses": self.last}


def run(objective, precision, data):
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(0)
        norm = "layer" if objective == "wgan_gp" else "batch"
        g = models.build_generator(FLAGS.generator, image_size=FLAGS.size, base_filters=32)
        d = models.build_discriminator("patchgan", image_size=FLAGS.size, n_layers=3, base_filters=32, norm=norm)
        gan = gans.build_gan(objective, g, d)
        gan.compile()
        check = FiniteCheck()
        gan.fit(data, epochs=1, steps_per_epoch=FLAGS.steps, verbose=0, callbacks=[check])
        return {"steps": FLAGS.steps, "finite": check.first_bad is None, "first_non_finite": check.first_bad,
                "last_losses": check.last}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main(argv):
    del argv
    l_norm, ab_norm = crops(FLAGS.size)
    data = tf.data.Dataset.from_tensor_slices((l_norm, ab_norm)).shuffle(256, seed=0).repeat().batch(FLAGS.batch)
    results = {}
    for objective in FLAGS.objectives:
        for precision in FLAGS.precisions:
            result = run(objective, precision, data)
            results[f"{objective}/{precision}"] = result
            print(f"{objective:8s} {precision:15s} {result['steps']} steps: "
                  f"{'finite' if result['finite'] else 'NOT FINITE at ' + str(result['first_non_finite'])}; "
                  f"last {result['last_losses']}", flush=True)
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    app.run(main)
