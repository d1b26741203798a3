"""The fused optimizers give Keras's updates, also under MirroredStrategy."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import run_script
from tfcolor.gans import optimizers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train(optimizer, steps=6):
    """A few updates of two weights with changing, non-trivial gradients."""
    rng = np.random.default_rng(1)
    weights = [keras.Variable(rng.normal(size=(3, 4)).astype(np.float32)),
               keras.Variable(rng.normal(size=(4,)).astype(np.float32))]
    optimizer.build(weights)

    @tf.function
    def step(i):
        grads = [tf.sin(w * (i + 1.0)) + 0.1 * i for w in weights]
        optimizer.apply_gradients(zip(grads, weights))

    for i in range(steps):
        step(float(i))
    return [w.numpy() for w in weights]


def _assert_same(fused, reference):
    start = _train(keras.optimizers.SGD(0.0), steps=1)
    got, want = _train(fused), _train(reference)
    assert max(np.abs(w - s).max() for w, s in zip(want, start)) > 0.1  # the updates are not tiny
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_fused_adam_equals_keras_adam():
    _assert_same(optimizers.FusedAdam(0.1, beta_1=0.5, beta_2=0.9),
                 keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9))


def test_fused_adam_follows_a_learning_rate_schedule():
    schedule = lambda: keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)  # noqa: E731
    _assert_same(optimizers.FusedAdam(schedule()), keras.optimizers.Adam(schedule()))


def test_fused_rmsprop_equals_keras_rmsprop():
    _assert_same(optimizers.FusedRMSprop(0.05), keras.optimizers.RMSprop(0.05))


def test_variants_without_a_fused_kernel_fall_back_to_keras():
    _assert_same(optimizers.FusedAdam(0.1, amsgrad=True), keras.optimizers.Adam(0.1, amsgrad=True))
    _assert_same(optimizers.FusedRMSprop(0.05, momentum=0.5, centered=True),
                 keras.optimizers.RMSprop(0.05, momentum=0.5, centered=True))


def test_the_update_is_one_fused_kernel():
    weights = [keras.Variable(np.ones((2, 2), np.float32))]
    for optimizer, kernel in [(optimizers.FusedAdam(0.1), "ResourceApplyAdam"),
                              (optimizers.FusedRMSprop(0.1), "ResourceApplyRMSProp")]:
        optimizer.build(weights)
        graph = tf.function(lambda: optimizer.apply_gradients(zip([tf.ones((2, 2))], weights)))
        types = [op.type for op in graph.get_concrete_function().graph.get_operations()]
        assert kernel in types
        assert "AssignSubVariableOp" not in types


def test_make_optimizer_and_config_round_trip():
    adam = optimizers.make_optimizer("adam", 2e-4, 0.5, 0.9)
    assert isinstance(adam, optimizers.FusedAdam) and isinstance(adam, keras.optimizers.Adam)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(adam))
    assert isinstance(again, optimizers.FusedAdam) and again.beta_1 == 0.5 and again.beta_2 == 0.9
    assert isinstance(optimizers.make_optimizer("rmsprop", 5e-5), optimizers.FusedRMSprop)
    assert isinstance(optimizers.make_optimizer("sgd", 0.1), keras.optimizers.SGD)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.make_optimizer("adagrad", 0.1)


@pytest.mark.slow
def test_fused_optimizers_under_mirrored_strategy_on_two_devices():
    result = run_script(os.path.join(REPO, "tests", "distributed_parity.py"), "optimizers")
    diffs = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("adam", "rmsprop"):
        assert diffs[name]["replicas"] == 0.0  # every device's copy got the same update
        assert diffs[name]["vs_keras"] <= 1e-5
        assert diffs[name]["moved"] > 1e-2


def test_the_private_keras_slots_the_fused_kernels_read_are_there():
    """FusedAdam / FusedRMSprop read Keras's slot variables through private names (Keras has no
    public API for them). A Keras release that renames them must fail here, by name, rather
    than train with wrong slots: then update tfcolor/gans/optimizers.py and the pin in setup.cfg."""
    weights = [keras.Variable(np.ones((2, 3), np.float32)), keras.Variable(np.zeros(3, np.float32))]
    for optimizer, slots in ((keras.optimizers.Adam(), ("_momentums", "_velocities")),
                             (keras.optimizers.RMSprop(), ("_velocities",))):
        optimizer.build(weights)
        assert hasattr(optimizer, "_get_variable_index"), f"Keras {keras.__version__}: no _get_variable_index"
        for name in slots:
            assert hasattr(optimizer, name), f"Keras {keras.__version__} has no {type(optimizer).__name__}.{name}"
            for weight in weights:
                slot = getattr(optimizer, name)[optimizer._get_variable_index(weight)]
                assert tuple(slot.shape) == tuple(weight.shape), f"{name} no longer indexed by variable"
