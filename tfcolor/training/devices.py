"""Logical devices: one physical GPU (or the CPU) split into several, so that MirroredStrategy
can be run and checked on a machine with a single accelerator.

``split_first_device(n)`` must run before TensorFlow initialises its devices (before the first
op or strategy). On a GPU each logical device gets ``gpu_memory_mb`` of the card's memory (a
GPU split needs explicit limits); on the CPU the logical devices share the cores.
"""

import tensorflow as tf


def split_first_device(count, gpu_memory_mb=8192):
    """Splits the first GPU, or the CPU when there is none, into ``count`` logical devices.

    Returns:
      (kind, names): "GPU" or "CPU", and the logical device names ("/gpu:0", ...) to give
      tf.distribute.MirroredStrategy.
    Raises:
      RuntimeError: TensorFlow's devices were already initialised.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    gpus = tf.config.list_physical_devices("GPU")
    kind, device = ("GPU", gpus[0]) if gpus else ("CPU", tf.config.list_physical_devices("CPU")[0])
    if count > 1:
        limit = gpu_memory_mb if kind == "GPU" else None
        config = [tf.config.LogicalDeviceConfiguration(memory_limit=limit) for _ in range(count)]
        try:
            tf.config.set_logical_device_configuration(device, config)
        except RuntimeError as e:
            raise RuntimeError(f"split the {kind} into {count} devices before TensorFlow starts: {e}") from e
    return kind, [f"/{kind.lower()}:{i}" for i in range(count)]
