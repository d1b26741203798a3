"""Shared helpers: real photos from scikit-image and small files in official layouts."""

import json
import os
import subprocess

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The shipped model's network converted for tfcolor.deploy.quick: once per test machine, shared by
# the test processes (written atomically), never in the user's ~/.cache.
os.environ.setdefault("TFCOLOR_CACHE", os.path.join(__import__("tempfile").gettempdir(),
                                                    f"tfcolor-test-cache-{os.getuid()}"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests import launcher  # noqa: E402

REPO = launcher.REPO


def photo(name="astronaut"):
    import skimage.data

    image = getattr(skimage.data, name)()
    return image[0] if isinstance(image, tuple) else image


def photo_crops(count, size=96, names=("astronaut", "coffee", "chelsea", "rocket")):
    """``count`` distinct real-photo crops of ``size`` px (deterministic)."""
    rng = np.random.default_rng(0)
    crops = []
    for i in range(count):
        image = photo(names[i % len(names)])
        top = int(rng.integers(0, image.shape[0] - size))
        left = int(rng.integers(0, image.shape[1] - size))
        crops.append(np.ascontiguousarray(image[top : top + size, left : left + size]))
    return crops


def png_bytes(array):
    """PNG-encoded bytes of a uint8 array."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def save(path, array_or_image, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    image.save(path, **kwargs)
    return path


def run_module(module, *args, timeout=300, check=True):
    """Runs ``python -m module args`` from the repo (forked from a process that has imported
    TensorFlow: tests/launcher.py); returns the completed process (which must succeed unless
    ``check`` is False)."""
    return _run(["-m", module, *args], timeout, check)


def run_script(path, *args, timeout=300, check=True):
    """Runs ``python path args`` like run_module."""
    return _run([path, *args], timeout, check)


def _run(argv, timeout, check):
    result = launcher.run(argv, launcher.command_env(), timeout=timeout)
    assert result.returncode == 0 or not check, f"{argv} failed:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result


def kill_after_shards(argv, out, shards=1, timeout=180):
    """Starts ``python argv`` (a data_prep command writing to ``out``, a Path), kills it and every
    process it started with SIGKILL once ``shards`` shards are final, then runs it again to the
    end. Asserts the kill came mid-run; returns the rerun's completed process."""
    import signal
    import time

    env = launcher.command_env()
    process = launcher.Popen(argv, env, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while len(list(out.glob("*.tfrecord"))) < shards and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert list(out.glob("*.tfrecord")), "no shard was finished before the kill"
    assert not (out / "manifest.json").exists(), "the run ended before it could be killed"
    rerun = launcher.run(argv, env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming:" in rerun.stderr
    return rerun


def perturb_refiner(model, scale=0.05):
    """A hint refiner (tfcolor.models.hint_refiner) whose correction is not zero (an untrained one
    is Levin exactly): its last convolution drawn at random, its bias moved; returns the model."""
    layer = model.get_layer("correction")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(0).normal(0, scale, kernel.shape).astype(np.float32), bias + scale])
    return model


def read_manifest(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        return json.load(f)


def read_keys(directory, split):
    """Every record key of a split, as a list (duplicates kept)."""
    import tensorflow as tf

    from tfcolor.core import schema

    files = tf.io.gfile.glob(schema.shard_pattern(directory, split))
    return [
        schema.parse_example(r)["key"].numpy().decode()
        for r in tf.data.TFRecordDataset(sorted(files))
    ]


@pytest.fixture(scope="session")
def astronaut():
    return photo("astronaut")


def write_lab_shard(directory, split, photos):
    """Writes uint8 RGB ``photos`` (same size) as one Lab TFRecord shard of ``split``."""
    import tensorflow as tf

    from tfcolor.core import color, schema

    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, schema.shard_name(split, 0, 1))
    with tf.io.TFRecordWriter(path) as writer:
        for i, rgb in enumerate(photos):
            lab_u8 = schema.encode_lab(color.rgb_to_lab(rgb)).numpy()
            writer.write(schema.serialize_example(f"{split}/{i}", lab_u8, rgb.shape[:2]))
    return path


def _session_lock(tmp_path_factory, name):
    """(the session's folder shared by the pytest-xdist workers, an exclusive lock on ``name``
    there, to enter with ``with``); without workers (None, a lock that holds nothing)."""
    import contextlib
    import fcntl

    if "PYTEST_XDIST_WORKER" not in os.environ:
        return None, contextlib.nullcontext()
    shared = tmp_path_factory.getbasetemp().parent  # this session's, above each worker's own

    @contextlib.contextmanager
    def locked():
        with open(shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # (released when the file closes)
            yield
    return shared, locked()


def shared_by_workers(tmp_path_factory, name, build):
    """``build()``'s Keras model, built once per test session: by the first pytest-xdist worker
    that asks, the others load what it saved (:func:`session_folder`)."""
    built = []

    def make(folder):
        built.append(build())
        built[0].save(folder / "model.keras")

    folder = session_folder(tmp_path_factory, name, make)
    if built:
        return built[0]
    from tfcolor.models import load_generator_file

    return load_generator_file(str(folder / "model.keras"))


def session_folder(tmp_path_factory, name, make):
    """A folder that ``make(folder)`` fills once per test session (by the first worker that asks;
    the others wait for it, then read it). Tests only read it."""
    shared, lock = _session_lock(tmp_path_factory, name)
    if shared is None:
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    folder = shared / name
    with lock:
        if not (folder / ".made").exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture(scope="session")
def trained_generator(tmp_path_factory):
    """A 32 px small U-Net trained for a few seconds with L1 on real photo crops: it
    predicts real colours, so precision losses show (random weights predict ~gray)."""
    def build():
        import keras
        import tensorflow as tf

        from tfcolor import models
        from tfcolor.core import color

        crops = np.stack([tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                          for c in photo_crops(256, size=64)])
        l_norm, ab_norm = color.split_lab(color.rgb_to_lab(crops))
        keras.utils.set_random_seed(0)
        generator = models.build_generator("unet_small", image_size=32, base_filters=16)
        generator.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mae")
        generator.fit(l_norm, ab_norm, batch_size=16, epochs=6, verbose=0)
        return generator

    return shared_by_workers(tmp_path_factory, "trained_generator", build)


@pytest.fixture(scope="session")
def trained_model_files(tmp_path_factory, trained_generator):
    """``trained_generator`` as a user has it, made once per session, read only: a run folder
    (``run``: generator.keras), a SavedModel for TF Serving (``saved_model``: served/1) and its
    .tflite files (``fp32``, ``fp16``, ``int8``: calibrated on crops of two other photos)."""
    def make(folder):
        import tensorflow as tf

        from tfcolor.deploy import lite, serving

        (folder / "run").mkdir()
        trained_generator.save(folder / "run" / "generator.keras")
        serving.export_saved_model(trained_generator, 32, str(folder / "served" / "1"))
        calibration = [tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                       for c in photo_crops(32, size=48, names=("stereo_motorcycle", "coffee"))]
        for variant, model in lite.converted(trained_generator, 32, lite.VARIANTS, calibration):
            (folder / f"{variant}.tflite").write_bytes(model)

    from tfcolor.deploy.lite import VARIANTS

    folder = session_folder(tmp_path_factory, "trained_model_files", make)
    return {"run": str(folder / "run"), "saved_model": str(folder / "served"),
            **{variant: str(folder / f"{variant}.tflite") for variant in VARIANTS}}


_hint_sampler = None


def hinted_batches(crops, seed=0):
    """(L + simulated hint channels, ab) of uint8 crops, as make_dataset(hints=True) gives."""
    import tensorflow as tf

    from tfcolor.core import color, hints

    l, ab = color.split_lab(color.rgb_to_lab(crops))
    global _hint_sampler
    if _hint_sampler is None:  # one graph for all photos (eagerly, op by op: 10 ms a photo)
        _hint_sampler = tf.function(lambda ab, seeds: tf.map_fn(
            lambda args: tf.concat(hints.sample_hints(*args), -1), (ab, seeds), fn_output_signature=tf.float32))
    seeds = tf.stack([tf.fill([len(crops)], seed), tf.range(len(crops))], -1)
    return tf.concat([l, _hint_sampler(ab, seeds)], -1), ab


@pytest.fixture(scope="session")
def hint_generator(tmp_path_factory):
    """A 32 px hint U-Net (--hints) trained briefly (L1) on real crops, with new simulated hints
    each epoch: it puts hint colours where they are given."""
    def build():
        import keras
        import tensorflow as tf

        from tfcolor import models
        from tfcolor.models.hint_inputs import HINT_INPUT_CHANNELS

        crops = np.stack([tf.image.resize(c, [32, 32]).numpy().round().astype(np.uint8)
                          for c in photo_crops(256, size=64)])
        keras.utils.set_random_seed(0)
        g = models.build_generator("unet_small", image_size=32, base_filters=16, in_channels=HINT_INPUT_CHANNELS)
        g.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mae")
        for epoch in range(10):
            x, ab = hinted_batches(crops, seed=epoch)
            g.fit(x, ab, batch_size=16, epochs=1, verbose=0)
        return g

    return shared_by_workers(tmp_path_factory, "hint_generator", build)


# The order in which `make test` hands the modules to its two workers (`--dist loadscope
# --no-loadscope-reorder`): xdist's own, most tests first, which mixes long modules with modules
# of many short tests, except that the module of two long tests goes first: last, as its test
# count put it, the GPU-bench module (48 s) ran while the other worker idled 44 s (AMD EPYC,
# 2026-12-04). Handing out every module longest first instead ran the long TensorFlow
# modules side by side: 4.5 % more CPU, no shorter (610 s against 602).
FEW_BUT_LONG = ("test_bench_gpu.py",)


def pytest_collection_modifyitems(config, items):
    module = lambda item: os.path.basename(str(item.path))  # noqa: E731
    counts = {}
    for item in items:
        counts[module(item)] = counts.get(module(item), 0) + 1
    items.sort(key=lambda item: (module(item) not in FEW_BUT_LONG, -counts[module(item)]))  # stable within a module
