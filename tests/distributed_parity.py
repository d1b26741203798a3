"""One training step of each objective on 1 device and under MirroredStrategy on 2 logical
devices (the first GPU split in two, else the CPU), from the same initial weights, with the
generator's weight average on (``ema_decay``); prints the largest weight difference as JSON
(the networks' and the average's, and between the average's two device copies).

Run by tests/test_gans.py in a fresh process per objective (logical devices must be set
before TF starts): ``python tests/distributed_parity.py wgan``; by bench/gpu.sh on a GPU.
``... optimizers`` instead compares the fused optimizers with Keras's under MirroredStrategy
(tests/test_optimizers.py).
"""

import json
import sys

from tfcolor.training.devices import split_first_device

KIND, DEVICES = split_first_device(2, gpu_memory_mb=4096)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcolor import gans, models  # noqa: E402
from tfcolor.gans import optimizers  # noqa: E402


class FixedAlphaWGANGP(gans.WGANGP):
    """Same interpolation weights on every device count (random draws differ per replica)."""

    def interpolation_weights(self, batch_size):
        return tf.fill([batch_size, 1, 1, 1], 0.3)


# objective -> (class, critic norm, SGD learning rate small enough not to diverge, options).
# n_critic=2: one critic-only update before the joint one, the loop the default 5 unrolls
# further (each extra update is traced on every device and costs seconds, not coverage).
OBJECTIVES = {"pix2pix": (gans.Pix2Pix, "batch", 0.05, {}), "wgan": (gans.WGAN, "batch", 0.05, {"n_critic": 2}),
              "wgan_gp": (FixedAlphaWGANGP, "layer", 1e-4, {"n_critic": 2})}


EMA_DECAY = 0.5  # after one update: decay_at(0.5, 1) = 2 / 11, the average moves 9/11 of the way


def build(objective, weights=None):
    cls, norm, lr, options = OBJECTIVES[objective]
    keras.utils.set_random_seed(0)
    g = models.build_generator("unet_small", image_size=16, num_downs=3, base_filters=8, dropout=0.0)
    d = models.build_discriminator("patchgan", image_size=16, n_layers=1, base_filters=8, norm=norm)
    gan = cls(g, d, ema_decay=EMA_DECAY, **options)
    gan.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))
    if weights is not None:
        for var, value in zip(g.weights + d.weights, weights):
            var.assign(value)
        gan.averaging.reset()
    return gan


def one_step(objective, strategy, weights, data):
    """The networks' weights and the average's after one step, and the largest difference
    between the average's device copies."""
    with strategy.scope():
        gan = build(objective, weights)
    gan.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    copies = [[c.numpy() for c in strategy.experimental_local_results(v.value)]
              for v in gan.averaged_generator.weights]
    spread = max(float(np.abs(c[0] - other).max()) for c in copies for other in c)
    networks = [v.numpy() for v in gan.generator.weights + gan.discriminator.weights]
    return networks, [c[0] for c in copies], spread


def trainable_mask(objective):
    gan = build(objective)
    trainable = {id(v) for v in gan.generator.trainable_weights + gan.discriminator.trainable_weights}
    return [id(v) in trainable for v in gan.generator.weights + gan.discriminator.weights]


def optimizer_parity():
    """Three Keras fit steps of a small model under MirroredStrategy with each fused optimizer
    and with Keras's: the largest difference between the device copies and to Keras's."""
    strategy = tf.distribute.MirroredStrategy(DEVICES)
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(8, 4)
    y = np.ones((8, 3), np.float32)
    result = {}
    for name, fused, plain in [("adam", optimizers.FusedAdam, keras.optimizers.Adam),
                               ("rmsprop", optimizers.FusedRMSprop, keras.optimizers.RMSprop)]:
        kernels = []
        for cls in (fused, plain):
            with strategy.scope():
                keras.utils.set_random_seed(0)
                model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
                start = model.layers[0].kernel.numpy()
                model.compile(cls(0.1), "mse")
            model.fit(x, y, epochs=3, batch_size=8, verbose=0)
            kernels.append([v.numpy() for v in strategy.experimental_local_results(model.layers[0].kernel.value)])
        result[name] = {"replicas": float(np.abs(kernels[0][0] - kernels[0][1]).max()),
                        "vs_keras": float(np.abs(kernels[0][0] - kernels[1][0]).max()),
                        "moved": float(np.abs(kernels[0][0] - start).max())}
    return result


def main():
    if sys.argv[1:] == ["optimizers"]:
        json.dump(optimizer_parity(), sys.stdout)
        return
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32)
    ab = (0.3 * rng.normal(size=(8, 16, 16, 2))).astype(np.float32)
    data = tf.data.Dataset.from_tensors((l, ab)).repeat()
    result = {}
    # One objective per process: several MirroredStrategy instances in one process can
    # mix up their collective ops.
    for objective in sys.argv[1:]:
        initial = [v.numpy() for v in (lambda g: g.generator.weights + g.discriminator.weights)(build(objective))]
        single, single_average, _ = one_step(objective, tf.distribute.OneDeviceStrategy(DEVICES[0]), initial, data)
        mirrored = tf.distribute.MirroredStrategy(DEVICES)
        assert mirrored.num_replicas_in_sync == 2
        double, double_average, spread = one_step(objective, mirrored, initial, data)
        mask = trainable_mask(objective)
        moved = max(float(np.abs(a - b).max()) for a, b, t in zip(single, initial, mask) if t)
        # By hand: the average after one update, from the initial and the updated weights.
        rate = 1.0 - min(EMA_DECAY, 2.0 / 11.0)
        expected = [w0 + rate * (w1 - w0) for w0, w1 in zip(initial, single)]
        result[objective] = {
            "max_diff": max(float(np.abs(a - b).max()) for a, b in zip(single, double)),
            "max_update": moved,
            "average_vs_hand": max(float(np.abs(a - b).max()) for a, b in zip(single_average, expected)),
            "average_diff": max(float(np.abs(a - b).max()) for a, b in zip(single_average, double_average)),
            "average_replicas": spread,
            "devices": f"2 x {KIND}",
        }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
