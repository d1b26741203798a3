"""python -m tfcolor.train: flagfiles, what a run leaves, resume after kill -9, reproducibility,
NaN stop, clear data errors, and training on 2 replicas."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from data_prep.convert import PrepConfig
from data_prep.decode import Item
from data_prep.pipeline import write_dataset
from tests import launcher
from tests.conftest import REPO, photo_crops, run_module

TINY = [
    "--image_size=32", "--generator=unet_small", "--g_filters=8", "--discriminator=pixelgan",
    "--d_filters=8", "--batch_size=4", "--epochs=2", "--steps_per_epoch=5", "--checkpoint_every=2",
    "--log_every=1", "--val_images=3", "--shuffle_buffer=16",
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("data"))
    crops = photo_crops(40, size=40)
    items = [Item(key=f"c{i:02d}", array=c) for i, c in enumerate(crops)]
    write_dataset({"train": items[:32], "val": items[32:]}, directory,
                  PrepConfig(image_size=32, store_size=36, min_size=8), {"name": "test"},
                  images_per_shard=16, num_workers=0, log=lambda m: None)
    return directory


@pytest.fixture(scope="module")
def seeded_run(dataset, tmp_path_factory):
    """One epoch of TINY with --seed=7: the run several tests read (never write)."""
    model_dir = str(tmp_path_factory.mktemp("seeded") / "run")
    train(f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--seed=7", "--epochs=1")
    return model_dir


def train(*args, check=True, timeout=300):
    return run_module("tfcolor.train", *args, timeout=timeout, check=check)


def checkpoint_steps(model_dir):
    return sorted(int(p.split("-")[-1].split(".")[0])
                  for p in glob.glob(os.path.join(model_dir, "checkpoints", "ckpt-*.index")))


PARSE_FLAGFILES = """
import sys
from absl import flags
from tfcolor import train as entry
for path in sys.argv[1:]:
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train", f"--flagfile={path}"])
    config = entry.config_from_flags().validate()
    print(path, config.objective.gan, config.model.generator, config.data.image_size, flush=True)
"""


def test_every_flagfile_parses_into_a_valid_config():
    # In a fresh process: the data_prep entry modules other tests import define flags too.
    flagfiles = sorted(f for f in glob.glob(os.path.join("experiments", "*.flags"))
                       if not f.endswith("common.flags"))
    assert len(flagfiles) == 9
    env = launcher.command_env()
    result = subprocess.run([sys.executable, "-c", PARSE_FLAGFILES, *flagfiles], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert sorted(parsed) == flagfiles
    assert parsed["experiments/wgan_gp.flags"] == ["wgan_gp", "unet", "256"]
    assert parsed["experiments/cifar_spectral.flags"] == ["pix2pix", "unet_small", "32"]


def test_inconsistent_flags_fail_at_once_with_a_clear_message(tmp_path):
    result = train("--train=x", f"--model_dir={tmp_path}", "--gan=wgan_gp", "--d_norm=batch", check=False)
    assert result.returncode != 0
    assert "needs a critic without BatchNorm" in result.stderr and "--d_norm=layer" in result.stderr
    # One line, not after absl's listing of every flag (issue 40).
    assert "USAGE" not in result.stdout + result.stderr and "--model_dir:" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and not os.listdir(tmp_path)
    result = train("--flagfile=experiments/pix2pix.flags", "--train=x", f"--model_dir={tmp_path}", "--epochs=1",
                   check=False)
    assert "--decay_epochs (100) exceeds --epochs (1): give --decay_epochs=N of at most 1, or --decay_epochs=0" in \
        result.stderr
    result = train("--train=x", f"--model_dir={tmp_path}", "--generator=unet++", check=False)
    assert result.returncode != 0 and "unknown --generator 'unet++'; known: encoder_unet, resnet, resnet18_unet, unet, unet_small" in result.stderr


@pytest.mark.slow
def test_a_run_leaves_everything_and_resumes(seeded_run, tmp_path):
    # flags.txt is a flagfile that reruns the experiment: here it resumes the 1-epoch run
    # (copied) and adds an epoch.
    model_dir = str(tmp_path / "run")
    shutil.copytree(seeded_run, model_dir)
    result = train(f"--flagfile={model_dir}/flags.txt", f"--model_dir={model_dir}", "--epochs=2")
    assert "resumed from" in result.stdout and "step 5" in result.stdout
    for name in ("flags.txt", "config.json", "losses.csv", "epochs.csv", "losses.png", "summary.json",
                 "generator.keras", "samples/epoch_001.png", "samples/epoch_002.png"):
        assert os.path.exists(os.path.join(model_dir, name)), name
    assert glob.glob(os.path.join(model_dir, "logs", "events.out.tfevents.*"))
    assert checkpoint_steps(model_dir)[-1] == 10
    summary = json.load(open(os.path.join(model_dir, "summary.json")))
    assert summary["steps"] == 10 and summary["epochs"] == 2
    assert "val_psnr" in summary["final_logs"] and "done: 10 steps" in result.stdout
    epochs = open(os.path.join(model_dir, "epochs.csv")).read().splitlines()
    assert len(epochs) == 3 and "val_l1" in epochs[0]

    from tfcolor.deploy.serving import load_generator  # registers tfcolor's custom layers first

    generator, size = load_generator(model_dir)
    assert generator.output_shape == (None, 32, 32, 2) and size == 32


@pytest.mark.slow
def test_rerunning_a_finished_run_reports_it_and_rewrites_nothing(seeded_run, tmp_path):
    """The same command again finds the run complete: every file stays as it was (the summary
    with its figures, the generator, config and flags), and the line gives the recorded figures."""
    model_dir = str(tmp_path / "run")
    shutil.copytree(seeded_run, model_dir)
    before = {}
    for root, _, files in os.walk(model_dir):
        for name in files:
            path = os.path.join(root, name)
            before[path] = (open(path, "rb").read(), os.stat(path).st_mtime_ns)
    result = train(f"--flagfile={model_dir}/flags.txt", f"--model_dir={model_dir}")
    summary = json.load(open(os.path.join(model_dir, "summary.json")))
    assert f"complete: {model_dir} finished {summary['steps']} steps, 1 epochs" in result.stdout
    assert f"val_psnr {summary['final_logs']['val_psnr']:.4g}" in result.stdout
    after = {os.path.join(root, name) for root, _, files in os.walk(model_dir) for name in files}
    assert after == set(before)
    for path, (data, mtime) in before.items():
        assert open(path, "rb").read() == data and os.stat(path).st_mtime_ns == mtime, path


def test_run_files_are_valid_json_without_nan(tmp_path):
    from tfcolor.training import builders

    builders.write_json(str(tmp_path / "s.json"), {"rate": float("nan"), "logs": {"l1": float("inf")}, "n": 3})
    assert json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda c: pytest.fail(c)) == {
        "logs": {"l1": None}, "n": 3, "rate": None}


@pytest.mark.slow
def test_kill_9_then_rerun_continues_the_step_counter(dataset, tmp_path):
    model_dir = str(tmp_path / "killed")
    args = [f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--epochs=4", "--steps_per_epoch=20",
            "--checkpoint_every=5"]
    env = launcher.command_env()
    process = launcher.Popen(["-m", "tfcolor.train", *args], env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if any(step >= 25 for step in checkpoint_steps(model_dir)):
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))  # what a rerun restores
    assert latest, "no checkpoint was written before the kill"
    saved = int(latest.rsplit("-", 1)[1])
    logged = int(open(os.path.join(model_dir, "losses.csv")).read().splitlines()[-1].split(",")[0])
    assert saved < 80, "the run finished before it could be killed"
    assert saved >= logged - 5  # at most one checkpoint interval is lost
    rerun = train(*args)
    assert f"step {saved})" in rerun.stdout  # resumed from the last checkpoint
    summary = json.load(open(os.path.join(model_dir, "summary.json")))
    assert summary["steps"] == 80 and summary["epochs"] == 4


@pytest.mark.slow
def test_fixed_seed_repeats_step_for_step(dataset, seeded_run, tmp_path):
    model_dir = str(tmp_path / "again")
    train(f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--seed=7", "--epochs=1")
    logs = [open(os.path.join(d, "losses.csv")).read().splitlines() for d in (seeded_run, model_dir)]
    assert logs[0][0] == logs[1][0] and len(logs[0]) == len(logs[1]) == 6  # header + 5 steps
    first, again = (np.array([[float(v) for v in row.split(",")] for row in log[1:]]) for log in logs)
    # The same weights and batches give the same losses; a logged sum may differ in its last float32
    # bit (seen once, 2026-12-02: 13.787998 against 13.787995 in g_loss, the next step equal again),
    # far below what another seed, batch order or initialisation changes (percents).
    np.testing.assert_allclose(again, first, rtol=1e-5, atol=0)  # step numbers too: exact at this rtol


@pytest.mark.slow
def test_nan_stops_the_run_naming_the_step_and_keeps_the_last_good_checkpoint(dataset, tmp_path):
    model_dir = str(tmp_path / "nan")
    result = train(f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--optimizer=sgd",
                   "--g_lr=1e30", "--d_lr=1e30", "--epochs=2", check=False)
    assert result.returncode == 1
    message = result.stderr.splitlines()[-1]
    assert message.startswith("error:") and " at step " in message and ("nan" in message or "inf" in message)
    failed_step = int(message.split(" at step ")[1].split(":")[0])
    assert all(step < failed_step for step in checkpoint_steps(model_dir))
    if checkpoint_steps(model_dir):
        import tensorflow as tf

        reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
        for name in reader.get_variable_to_shape_map():
            value = reader.get_tensor(name)
            if np.issubdtype(np.asarray(value).dtype, np.floating):
                assert np.all(np.isfinite(value)), name


@pytest.mark.slow
def test_data_problems_give_clear_errors(dataset, tmp_path):
    missing = train(f"--train={tmp_path}/nothing", f"--model_dir={tmp_path}/m1", *TINY, check=False)
    assert missing.returncode == 1 and "error: --train: no TFRecord files match" in missing.stderr
    wrong_size = train(f"--train={dataset}", f"--model_dir={tmp_path}/m2", *TINY[1:], "--image_size=64",
                       "--num_downs=4", check=False)
    assert wrong_size.returncode == 1 and "stores 36x36 images but --image_size=64" in wrong_size.stderr
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "train-00000-of-00001.tfrecord").write_bytes(b"\x00garbage" * 100)
    bad = train(f"--train={corrupt}/train-*.tfrecord", f"--model_dir={tmp_path}/m3", *TINY, check=False)
    assert bad.returncode == 1 and "error:" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_training_under_mirrored_strategy_on_two_virtual_devices(dataset, tmp_path):
    # --virtual_devices splits the first GPU, here the CPU, as one would test on a 1-GPU machine.
    result = train(f"--train={dataset}", f"--model_dir={tmp_path}/mirrored", *TINY, "--virtual_devices=2",
                   "--strategy=mirrored")
    assert "2 replica(s)" in result.stdout and "done: 10 steps" in result.stdout
    assert os.path.exists(tmp_path / "mirrored" / "generator.keras")
    assert "UserWarning" not in result.stderr, result.stderr[-2000:]  # (Keras's shuffle warning, before)


@pytest.mark.slow
def test_jit_compile_trains_with_xla_and_is_refused_with_mirrored_cpus(dataset, tmp_path):
    result = train(f"--train={dataset}", f"--model_dir={tmp_path}/xla", *TINY, "--jit_compile=true", "--epochs=1")
    assert "done: 5 steps" in result.stdout
    summary = json.loads((tmp_path / "xla" / "summary.json").read_text())
    assert summary["steps"] == 5
    assert {"g_loss", "d_loss", "l1"} <= set(summary["final_logs"])
    assert all(np.isfinite(summary["final_logs"][k]) for k in ("g_loss", "d_loss", "l1"))
    refused = train(f"--train={dataset}", f"--model_dir={tmp_path}/no", *TINY, "--jit_compile=true",
                    "--virtual_devices=2", check=False)
    assert refused.returncode == 1 and "--jit_compile with MirroredStrategy on CPU" in refused.stderr
    wrong = train(f"--train={dataset}", f"--model_dir={tmp_path}/no", *TINY, "--virtual_devices=2",
                  "--strategy=one_device", check=False)
    assert wrong.returncode == 1 and "--virtual_devices=2 is for --strategy=auto or mirrored" in wrong.stderr


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_training_with_two_processes_on_localhost(dataset, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    model_dir = str(tmp_path / "multi")
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = launcher.command_env(TF_CONFIG=json.dumps(tf_config))
        processes.append(launcher.Popen(
            ["-m", "tfcolor.train", f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--strategy=multi_worker"],
            env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=300))
    finally:
        for process in processes:
            process.kill()
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, out[-2000:] + err[-3000:]
    assert "2 replica(s)" in outputs[0][0] and "done: 10 steps" in outputs[0][0]
    assert os.path.exists(os.path.join(model_dir, "generator.keras"))
    assert checkpoint_steps(model_dir)[-1] == 10
    assert not os.path.exists(os.path.join(model_dir, ".worker1_checkpoints"))  # scratch removed


def test_learning_rate_schedules():
    from tfcolor.training.schedules import ConstantThenLinearDecay, make_schedule

    linear = make_schedule("linear", 2e-4, total_steps=200, decay_steps=100)
    assert isinstance(linear, ConstantThenLinearDecay)
    values = [float(linear(step)) for step in (0, 100, 150, 200, 250)]
    np.testing.assert_allclose(values, [2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-12)
    cosine = make_schedule("cosine", 1.0, total_steps=100)
    np.testing.assert_allclose([float(cosine(s)) for s in (0, 50, 100)], [1.0, 0.5, 0.0], atol=1e-6)
    assert make_schedule("constant", 3e-4, 100) == 3e-4
    restored = ConstantThenLinearDecay.from_config(linear.get_config())
    assert float(restored(150)) == pytest.approx(1e-4)


def test_an_epoch_shorter_than_log_every_logs_its_epoch_and_grid(tmp_path):
    """No loss row is due before --log_every steps: the epoch's row, grid and figures come
    anyway (the end of such an epoch used to fail on the missing losses.csv), and the run's one
    loss point (the mean of its steps) with losses.png (issue 40)."""
    import keras
    import tensorflow as tf

    from tfcolor import gans, models
    from tfcolor.core import rundir
    from tfcolor.training.callbacks import RunLogger

    keras.utils.set_random_seed(0)
    gan = gans.build_gan("pix2pix", models.build_generator("unet_small", image_size=16, num_downs=3, base_filters=8),
                         models.build_discriminator("pixelgan", image_size=16, base_filters=8))
    gan.compile()
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32), np.zeros((2, 16, 16, 2), np.float32))
    logger = RunLogger(str(tmp_path), batch, every=10, writer=tf.summary.create_file_writer(str(tmp_path / "logs")))
    gan.fit(tf.data.Dataset.from_tensors(batch).repeat(), steps_per_epoch=3, epochs=1, verbose=0, callbacks=[logger])
    losses = (tmp_path / rundir.LOSSES_CSV).read_text().splitlines()
    assert len(losses) == 2 and losses[1].startswith("3,")
    assert (tmp_path / rundir.LOSSES_PNG).exists()
    epochs = (tmp_path / rundir.EPOCHS_CSV).read_text().splitlines()
    assert epochs[0].startswith("epoch,step,") and epochs[1].startswith("1,3,")
    assert os.path.exists(rundir.sample_grid(str(tmp_path), 1))


@pytest.mark.slow
def test_an_empty_dataset_is_a_clear_error(tmp_path):
    gray = np.zeros((40, 40, 3), np.uint8) + 128
    write_dataset({"train": [Item(key="gray", array=gray)], "val": [Item(key="g2", array=gray)]},
                  str(tmp_path / "empty"), PrepConfig(image_size=32, min_size=8), {"name": "t"},
                  num_workers=0, log=lambda m: None)
    result = train(f"--train={tmp_path}/empty", f"--model_dir={tmp_path}/m", *TINY, check=False)
    assert result.returncode == 1 and "holds no records" in result.stderr


def _config_of(model_dir, **changes):
    from tfcolor.training import config as cfg

    saved = json.loads(open(os.path.join(model_dir, "config.json")).read())
    for key, value in changes.items():
        section = next(name for name, values in saved.items() if key in values)
        saved[section][key] = value
    return cfg.TrainConfig(**{name: cls(**saved[name]) for name, cls in
                              (("data", cfg.DataConfig), ("model", cfg.ModelConfig), ("objective", cfg.ObjectiveConfig),
                               ("optim", cfg.OptimConfig), ("run", cfg.RunConfig))})


@pytest.mark.slow
def test_init_from_restores_exactly_the_given_weights(dataset, seeded_run, tmp_path):
    import tensorflow as tf

    from tfcolor.deploy.serving import load_generator
    from tfcolor.training import builders

    source = seeded_run
    config = _config_of(source)
    weights = lambda gan: gan.generator.get_weights() + gan.discriminator.get_weights()  # noqa: E731
    reference = builders.build_gan(config, 10)  # the source run's checkpoint, restored in full
    tf.train.Checkpoint(gan=reference).restore(tf.train.latest_checkpoint(f"{source}/checkpoints")).expect_partial()
    fresh = builders.build_gan(config, 10)
    assert not all(np.array_equal(a, b) for a, b in zip(weights(fresh), weights(reference), strict=True))
    assert "generator and discriminator" in builders.initialize_from(fresh, source)
    assert all(np.array_equal(a, b) for a, b in zip(weights(fresh), weights(reference), strict=True))
    # A generator file: the generator only.
    other = builders.build_gan(config, 10)
    builders.initialize_from(other, f"{source}/generator.keras")
    saved, _ = load_generator(source)
    assert all(np.array_equal(a, b) for a, b in zip(other.generator.get_weights(), saved.get_weights(), strict=True))
    assert not np.array_equal(other.discriminator.get_weights()[0], reference.discriminator.get_weights()[0])
    with pytest.raises(builders.DataError, match="another architecture"):
        builders.initialize_from(builders.build_gan(_config_of(source, g_filters=16), 10), f"{source}/generator.keras")
    with pytest.raises(builders.DataError, match="differ from this run's"):
        builders.initialize_from(builders.build_gan(_config_of(source, g_filters=16), 10), source)
    # The command: a new run starts from the source's networks.
    tuned = train(f"--train={dataset}", f"--model_dir={tmp_path}/tuned", *TINY, "--epochs=1", f"--init_from={source}")
    assert f"initialised generator and discriminator from {source}/checkpoints/ckpt-" in tuned.stdout


@pytest.mark.slow
def test_pretraining_every_epoch_is_a_regression_run_without_the_gan(dataset, tmp_path):
    model_dir = str(tmp_path / "run")
    flags = [f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--pretrain_epochs=2",
             "--colorfulness_weight=10"]
    result = train(*flags)
    assert "L1 pretraining of the generator: epochs 1-2" in result.stdout
    assert json.load(open(os.path.join(model_dir, "summary.json")))["steps"] == 10
    header = open(os.path.join(model_dir, "losses.csv")).readline().strip().split(",")
    assert {"g_loss", "l1", "color_gap"} <= set(header) and not {"g_adv", "d_loss"} & set(header), header
    import tensorflow as tf

    # The discriminator's optimizer never stepped; the generator's did, every step.
    checkpoint = tf.train.load_checkpoint(f"{model_dir}/checkpoints")
    steps = {name: int(checkpoint.get_tensor(f"gan/{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"))
             for name in ("g_optimizer", "d_optimizer")}
    assert steps == {"g_optimizer": 10, "d_optimizer": 0}
    too_many = train(*flags[:-2], "--pretrain_epochs=3", f"--model_dir={tmp_path}/m2", check=False)
    assert too_many.returncode != 0 and "--pretrain_epochs (3) exceeds --epochs (2)" in too_many.stderr


@pytest.mark.slow
def test_the_colour_terms_train_and_are_logged(dataset, tmp_path):
    from tests.test_color_losses import _vgg_file

    vgg = _vgg_file(tmp_path)
    model_dir = str(tmp_path / "run")
    flags = [f"--train={dataset}", f"--model_dir={model_dir}", *TINY, "--pretrain_epochs=1", "--rebalance_l1",
             "--colorfulness_weight=5", "--perceptual_weight=0.1", "--ab_output=classes", "--class_weight=2",
             f"--perceptual_weights={vgg}"]
    train(*flags)
    header = open(os.path.join(model_dir, "losses.csv")).readline().strip().split(",")
    assert {"l1", "l1_rebalanced", "color_gap", "perceptual", "class_ce", "g_adv"} <= set(header), header
    rows = [line.split(",") for line in open(os.path.join(model_dir, "losses.csv")).read().splitlines()[1:]]
    assert len(rows) >= 10 and all(np.isfinite(float(v)) for row in rows for v in row if v)
    missing = train(*flags[:-1], f"--perceptual_weights={tmp_path}/none.npz", f"--model_dir={tmp_path}/m2",
                    check=False)
    assert missing.returncode == 1 and "--perceptual_weights" in missing.stderr and "Traceback" not in missing.stderr
    no_path = train(*flags[:-1], f"--model_dir={tmp_path}/m3", check=False)
    assert no_path.returncode != 0 and "--perceptual_weight needs --perceptual_weights" in no_path.stderr


def test_phases_split_where_pretraining_and_the_frozen_encoder_end():
    from tfcolor.training import config as cfg
    from tfcolor.training.loop import _phases

    def phases(start, pretrain=0, frozen=0, epochs=6):
        config = cfg.TrainConfig(objective=cfg.ObjectiveConfig(pretrain_epochs=pretrain),
                                 model=cfg.ModelConfig(freeze_encoder_epochs=frozen), run=cfg.RunConfig(epochs=epochs))
        return _phases(config, start)

    assert phases(0) == [(0, 6, False, False)]
    assert phases(0, pretrain=2, frozen=3) == [(0, 2, True, True), (2, 3, False, True), (3, 6, False, False)]
    assert phases(2, pretrain=2, frozen=3) == [(2, 3, False, True), (3, 6, False, False)]  # resumed at epoch 2
    assert phases(4, pretrain=2, frozen=3) == [(4, 6, False, False)]
    assert phases(0, frozen=6) == [(0, 6, False, True)]
    assert phases(6, frozen=2) == []


@pytest.mark.slow
def test_a_frozen_encoder_keeps_its_weights_and_statistics_while_the_decoder_learns():
    import keras
    import tensorflow as tf

    from tfcolor import gans, models
    from tfcolor.models.backbones import find_encoder
    from tfcolor.training.loop import _freeze_encoder

    keras.utils.set_random_seed(0)
    g = models.build_generator("encoder_unet", image_size=32, encoder="mobilenet_v2", base_filters=8)
    d = models.build_discriminator("pixelgan", image_size=32, base_filters=8)
    gan = gans.build_gan("pix2pix", g, d)
    gan.compile()
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32),
             (0.3 * rng.normal(size=(4, 32, 32, 2))).astype(np.float32))
    data = tf.data.Dataset.from_tensors(batch).repeat()
    encoder = find_encoder(g)
    before = [w.numpy() for w in encoder.weights]
    decoder_before = g.get_layer("out_conv").get_weights()[0]
    _freeze_encoder(gan, True)
    gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, encoder.weights, strict=True))
    assert not np.array_equal(decoder_before, g.get_layer("out_conv").get_weights()[0])
    _freeze_encoder(gan, False)
    gan.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
    changed = [not np.array_equal(a, w.numpy()) for a, w in zip(before, encoder.weights, strict=True)]
    assert sum(changed) > 0.9 * len(changed)  # kernels and BatchNorm statistics move again
    with pytest.raises(ValueError, match="no pretrained encoder"):
        _freeze_encoder(gans.build_gan("pix2pix", models.build_generator("unet_small", image_size=32), d), True)


@pytest.mark.slow
def test_training_without_validation_data_says_so(dataset, tmp_path):
    result = train(f"--train={dataset}/train-*.tfrecord", f"--model_dir={tmp_path}/run", *TINY, "--epochs=1",
                   "--steps_per_epoch=2")
    assert "note: no validation data" in result.stdout and "--val=GLOB" in result.stdout
    assert "val_psnr" not in json.loads((tmp_path / "run" / "summary.json").read_text())["final_logs"]
