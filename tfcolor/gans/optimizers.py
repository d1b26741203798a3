"""Optimizers of the GAN recipes, with TensorFlow's fused update kernels.

Keras 3 writes Adam's and RMSprop's updates as chains of element-wise ops:
each op is a separate pass over the weights, and the pix2pix U-Net has
54 M of them, so Keras's Adam update alone costs ~110 ms per step on a
2-core CPU (the fused kernel: ~30 ms). :class:`FusedAdam` and
:class:`FusedRMSprop` are drop-in subclasses (same hyperparameters and
config; Adam also the same slot variables) whose dense updates go through
TensorFlow's fused kernels (``ResourceApplyAdam``, ``ResourceApplyRMSProp``):
one pass, the same formulas (Keras's Adam is the "epsilon hat" form of the
TF kernel). Anything the kernels do not cover (AMSGrad, centred or momentum
RMSprop, sparse gradients) falls back to Keras's own update.

Keras has no public API for an optimizer's slot variables: the fused updates read
``_get_variable_index``, ``_momentums`` and ``_velocities``, which is why setup.cfg pins
Keras to the tested minor versions; tests/test_optimizers.py fails with a message naming
them when a Keras release changes them.
"""

import keras
import tensorflow as tf


def _handle(variable):
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle


def _dense(gradient):
    return not isinstance(gradient, tf.IndexedSlices)


@keras.saving.register_keras_serializable(package="tfcolor")
class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose dense updates run as one fused kernel."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not _dense(gradient):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


@keras.saving.register_keras_serializable(package="tfcolor")
class FusedRMSprop(keras.optimizers.RMSprop):
    """keras.optimizers.RMSprop (plain: no momentum, not centred) as one fused kernel.

    The kernel needs a momentum slot (one more variable per weight than
    Keras's RMSprop); with momentum 0 it only holds the last step, so the
    update equals Keras's: v = rho v + (1 - rho) g^2,
    w -= lr g / sqrt(v + eps).
    """

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._steps = []
        if not (self.momentum or self.centered):
            self._steps = self.add_optimizer_variables(var_list, "step")

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum or self.centered or not _dense(gradient):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyRMSProp(
            var=_handle(variable),
            ms=_handle(self._velocities[index]),
            mom=_handle(self._steps[index]),
            lr=tf.cast(learning_rate, dtype),
            rho=tf.cast(self.rho, dtype),
            momentum=tf.constant(0.0, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


def make_optimizer(name, learning_rate, beta_1=0.9, beta_2=0.999):
    """``adam``, ``rmsprop`` or ``sgd``; ``learning_rate`` may be a schedule."""
    if name == "adam":
        return FusedAdam(learning_rate, beta_1=beta_1, beta_2=beta_2)
    if name == "rmsprop":
        return FusedRMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; choose adam, rmsprop or sgd")
