"""Forward + backward time of TF's convolution kernels against the matmul forms of
tfcolor.models.matmul_conv, on every 4x4 stride-2 layer shape of the pix2pix U-Net 256.

The matmul form is timed for every shape, also where the layers do not take it, so the
thresholds in matmul_conv can be checked (or re-tuned) on another machine. Gradients with
respect to the input and the kernel, as in training.

Example usage:

    python -m bench.bench_matmul_conv --batches=1,4
"""

import time

import tensorflow as tf
from absl import app, flags

from tfcolor.models import matmul_conv

flags.DEFINE_list("batches", ["1", "4"], "Batch sizes.")
flags.DEFINE_integer("calls", 8, "Timed calls per run (best of 3 runs, two rounds).")
FLAGS = flags.FLAGS

# (kind, input size, in channels, out channels): the U-Net 256 encoder, then its decoder
# (decoder inputs include the skip connection).
SHAPES = [("conv", 256, 1, 64), ("conv", 128, 64, 128), ("conv", 64, 128, 256), ("conv", 32, 256, 512),
          ("conv", 16, 512, 512), ("conv", 8, 512, 512), ("conv", 4, 512, 512), ("conv", 2, 512, 512),
          ("transpose", 1, 512, 512), ("transpose", 2, 1024, 512), ("transpose", 4, 1024, 512),
          ("transpose", 8, 1024, 512), ("transpose", 16, 1024, 256), ("transpose", 32, 512, 128),
          ("transpose", 64, 256, 64), ("transpose", 128, 128, 2)]


def _best_ms(fn, x):
    fn(x)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(FLAGS.calls):
            result = fn(x)
        result[0].numpy()
        best = min(best, (time.perf_counter() - start) / FLAGS.calls * 1e3)
    return best


def _train_fn(forward, kernel):
    @tf.function
    def fn(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = forward(x)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x, kernel])
    return fn


def _takes_matmul(kind, size, in_channels, out_channels):
    """What tfcolor's layer does for this shape."""
    layer_class = matmul_conv.Conv2D if kind == "conv" else matmul_conv.Conv2DTranspose
    layer = layer_class(out_channels, 4, strides=2, padding="same")
    return layer._matmul_path((None, size, size, in_channels))


def main(argv):
    del argv
    for batch in map(int, FLAGS.batches):
        print(f"batch {batch}: forward + backward, ms (best of 3 runs of {FLAGS.calls} calls, two rounds)")
        print(f"  {'layer':32s} {'TF kernel':>10s} {'matmul':>10s} {'speed-up':>9s}  layer uses")
        for kind, size, cin, cout in SHAPES:
            x = tf.random.stateless_normal([batch, size, size, cin], seed=[0, 1])
            if kind == "conv":
                kernel = tf.Variable(tf.random.stateless_normal([4, 4, cin, cout], seed=[0, 2]) * 0.02)
                reference = _train_fn(lambda x: tf.nn.conv2d(x, kernel, 2, "SAME"), kernel)
                ours = _train_fn(lambda x: matmul_conv.patch_conv2d(x, kernel, (2, 2), "same"), kernel)
            else:
                kernel = tf.Variable(tf.random.stateless_normal([4, 4, cout, cin], seed=[0, 2]) * 0.02)
                shape = [batch, 2 * size, 2 * size, cout]
                reference = _train_fn(lambda x: tf.nn.conv2d_transpose(x, kernel, shape, 2, "SAME"), kernel)
                ours = _train_fn(lambda x: matmul_conv.tap_conv2d_transpose(x, kernel, (2, 2), "same"), kernel)
            times = [(_best_ms(reference, x), _best_ms(ours, x)) for _ in range(2)]
            tf_ms, mm_ms = min(t[0] for t in times), min(t[1] for t in times)
            name = f"{kind} {size}x{size}x{cin} -> {cout}"
            path = "matmul" if _takes_matmul(kind, size, cin, cout) else "TF kernel"
            print(f"  {name:32s} {tf_ms:10.2f} {mm_ms:10.2f} {tf_ms / mm_ms:8.2f}x  {path}", flush=True)


if __name__ == "__main__":
    app.run(main)
