"""Learning-rate schedules over generator steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfcolor")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """pix2pix's schedule: ``initial`` for ``total - decay`` steps, then linearly to 0 at ``total``."""

    def __init__(self, initial, total_steps, decay_steps):
        self.initial = float(initial)
        self.total_steps = int(total_steps)
        self.decay_steps = max(int(decay_steps), 1)

    def __call__(self, step):
        start = float(self.total_steps - self.decay_steps)
        progress = ops.clip((ops.cast(step, "float32") - start) / float(self.decay_steps), 0.0, 1.0)
        return self.initial * (1.0 - progress)

    def get_config(self):
        return {"initial": self.initial, "total_steps": self.total_steps, "decay_steps": self.decay_steps}


def make_schedule(kind, initial, total_steps, decay_steps=0):
    """``constant``, ``linear`` (constant then linear decay over ``decay_steps``) or ``cosine``."""
    if kind == "constant":
        return initial
    if kind == "linear":
        return ConstantThenLinearDecay(initial, total_steps, decay_steps or total_steps // 2)
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(initial, max(total_steps, 1))
    raise ValueError(f"unknown schedule {kind!r}")
