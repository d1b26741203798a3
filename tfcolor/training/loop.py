"""One training run: build, resume, fit (L1 pretraining, then adversarial), save, summarise."""

import dataclasses
import json
import os
import shutil
import sys
import time

import keras
import tensorflow as tf

from tfcolor.core import rundir
from tfcolor.training import builders, callbacks


class TrainingDiverged(RuntimeError):
    """A loss became NaN or Inf."""


@dataclasses.dataclass
class RunResult:
    steps: int
    epochs: int
    seconds: float
    images_per_second: float
    final_logs: dict
    generator_path: str


def _checkpoint_dir(model_dir, chief, strategy):
    if chief:
        return rundir.path(model_dir, rundir.CHECKPOINTS)
    # Non-chief workers write to a scratch folder (their saves are needed for the
    # collective ops, not kept).
    task_id = strategy.cluster_resolver.task_id
    return os.path.join(model_dir, f".worker{task_id}_checkpoints")


def _phases(config, start_epoch):
    """[(first_epoch, end_epoch, pretraining, encoder_frozen)] still to run: the epochs split
    where L1 pretraining and the frozen-encoder epochs end."""
    pretrain, frozen, epochs = (config.objective.pretrain_epochs, config.model.freeze_encoder_epochs,
                                config.run.epochs)
    bounds = sorted({start_epoch, epochs} | {b for b in (pretrain, frozen) if start_epoch < b < epochs})
    return [(first, end, first < pretrain, first < frozen) for first, end in zip(bounds, bounds[1:])
            if first < end]


def _freeze_encoder(gan, frozen):
    """Fixes (or frees) the pretrained encoder's weights, its BatchNorm in inference mode while
    fixed; the generator's optimizer keeps its slots for them (built over the whole generator)."""
    from tfcolor.models.backbones import find_encoder

    encoder = find_encoder(gan.generator)
    if encoder is None:
        raise ValueError(f"--freeze_encoder_epochs: the generator {gan.generator.name} has no pretrained encoder")
    if encoder.trainable == frozen:
        encoder.trainable = not frozen
        gan.train_function = None  # retraced over the new trainable variables


def _reduce(strategy, logs):
    return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}


def worker_fit(gan, strategy, train_ds, val_ds, initial_epoch, epochs, steps_per_epoch, val_steps,
               callback_list, log):
    """``fit`` for MultiWorkerMirroredStrategy, which Keras 3's own fit does not support
    (keras-team/keras#20585): the same train_step and callbacks in a plain loop, over
    per-worker distributed datasets; validation runs ``val_steps`` batches on every worker."""
    iterator = iter(train_ds)

    @tf.function(autograph=False)
    def train_step(iterator):
        return _reduce(strategy, strategy.run(gan.train_step, args=(next(iterator),)))

    @tf.function(autograph=False)
    def test_step(batch):
        return _reduce(strategy, strategy.run(gan.test_step, args=(batch,)))

    callbacks = keras.callbacks.CallbackList(callback_list, model=gan)
    history = {}
    callbacks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        for metric in gan.metrics:
            metric.reset_state()
        callbacks.on_epoch_begin(epoch)
        start = time.perf_counter()
        for batch in range(steps_per_epoch):
            callbacks.on_train_batch_begin(batch)
            logs = {k: float(v) for k, v in train_step(iterator).items()}
            callbacks.on_train_batch_end(batch, logs)
            if gan.stop_training:
                break
        if val_ds is not None and not gan.stop_training:
            for metric in gan.metrics:
                metric.reset_state()
            val_iterator = iter(val_ds)
            for _ in range(val_steps):
                val_logs = test_step(next(val_iterator))
            logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
        callbacks.on_epoch_end(epoch, logs)
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        log(f"epoch {epoch + 1}/{epochs} - {time.perf_counter() - start:.0f}s - "
            + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if gan.stop_training:
            break
    callbacks.on_train_end()
    return history


def _fit_phases(config, gan, strategy, train_ds, val_ds, val_records, start_epoch, done_in_epoch,
                steps_per_epoch, callback_list, guard, manager, log):
    """Runs the remaining epochs: L1 pretraining, then adversarial; returns the last history."""
    run = config.run
    verbose = 1 if sys.stdout.isatty() else 2
    history = {}

    def fit(first, end, steps):
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            val_steps = run.val_steps or -(-val_records // run.batch_size)
            return worker_fit(gan, strategy, train_ds, val_ds, first, end, steps, val_steps,
                              callback_list, log)
        return gan.fit(train_ds, initial_epoch=first, epochs=end, steps_per_epoch=steps,
                       validation_data=val_ds, validation_steps=run.val_steps or None,
                       callbacks=callback_list, verbose=verbose,
                       shuffle=False).history  # tf.data shuffles (Keras's default only warns so for a Dataset)

    for first, end, pretraining, frozen in _phases(config, start_epoch):
        gan.set_pretraining(pretraining)
        if pretraining:
            log(f"L1 pretraining of the generator: epochs {first + 1}-{end}")
        if config.model.freeze_encoder_epochs:
            _freeze_encoder(gan, frozen)
            log(f"encoder {'fixed' if frozen else 'trained'}: epochs {first + 1}-{end}")
        if done_in_epoch > 0 and first == start_epoch:
            # Finish the interrupted epoch, then carry on with whole ones.
            history = fit(first, first + 1, steps_per_epoch - done_in_epoch)
            first += 1
        if first < end and guard.failure is None:
            history = fit(first, end, steps_per_epoch)
        if guard.failure is not None:
            step, name, value = guard.failure
            raise TrainingDiverged(
                f"{name} became {value} at step {step}: training stopped. The last good checkpoint is "
                f"{manager.latest_checkpoint or '(none yet)'}; rerunning resumes from it. Try a lower "
                "learning rate, --precision=float32, or a stronger --gp_weight."
            )
    return history


def completed_run(config):
    """The recorded summary (a dict) when ``config``'s run folder holds a run that finished
    ``--epochs`` epochs, else None: rerunning its command must not rewrite it."""
    path = rundir.path(config.run.model_dir, rundir.SUMMARY)
    try:
        with open(path) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return None
    return summary if summary.get("epochs", 0) >= config.run.epochs else None


def run_training(config, strategy=None, log=print):
    """Trains as ``config`` says, resuming from ``config.run.model_dir`` when it holds a run.

    Returns:
      RunResult. Raises TrainingDiverged on a NaN/Inf loss and
      builders.DataError on unusable data, both with a message for the user.
    """
    config.validate()
    run = config.run
    strategy = strategy or builders.make_strategy(run.strategy)
    chief = builders.is_chief(strategy)
    os.makedirs(run.model_dir, exist_ok=True)
    if run.seed >= 0:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(run.precision)

    info = builders.DataInfo(config)
    steps_per_epoch = run.steps_per_epoch or max(1, info.train_records // run.batch_size)
    total_steps = steps_per_epoch * run.epochs
    train_ds, val_ds = builders.make_datasets(config, info, strategy)
    samples = builders.sample_batch(config, info)
    if run.seed >= 0:
        # Seeded right before the weights are drawn, so that nothing run before (data
        # checks, the sample batch) can shift the random streams.
        keras.utils.set_random_seed(run.seed)
    counts = builders.colour_prior(config, info) if config.needs_colour_prior else None
    reconstruction = builders.build_reconstruction(config, counts)
    with strategy.scope():
        gan = builders.build_gan(config, total_steps, reconstruction, counts)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(gan=gan, epoch=epoch)
    manager = tf.train.CheckpointManager(
        checkpoint, _checkpoint_dir(run.model_dir, chief, strategy), max_to_keep=run.keep_checkpoints
    )
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).expect_partial()
        log(f"resumed from {manager.latest_checkpoint} (epoch {int(epoch.numpy())}, step "
            f"{int(gan.g_optimizer.iterations.numpy())})"
            + (f"; --init_from={run.init_from} applies to new runs only" if run.init_from else ""))
    elif run.init_from:
        log(builders.initialize_from(gan, run.init_from))
    start_epoch = int(epoch.numpy())
    done_in_epoch = int(gan.g_optimizer.iterations.numpy()) - start_epoch * steps_per_epoch
    if chief:
        builders.write_json(rundir.path(run.model_dir, rundir.CONFIG), config.to_dict())
    log(f"{config.objective.gan}: {config.model.generator} + {config.model.discriminator}, "
        f"{info.train_records} training images, {steps_per_epoch} steps x {run.epochs} epochs, "
        f"batch {run.batch_size}, {strategy.num_replicas_in_sync} replica(s)")
    if not info.val_files:
        log(f"note: no validation data ({config.data.train} has no val or test split): no val_l1 or val_psnr; "
            f"give --val=GLOB, or prepare the data with --val_fraction above 0")

    guard = callbacks.NaNGuard()
    throughput = callbacks.Throughput(run.batch_size)
    writer = tf.summary.create_file_writer(
        rundir.path(run.model_dir, rundir.LOGS if chief else rundir.WORKER_LOGS))
    callback_list = [guard, callbacks.Checkpointer(manager, epoch, run.checkpoint_every, guard), throughput]
    if chief:
        callback_list.append(callbacks.RunLogger(run.model_dir, samples, run.log_every, writer))
    start = time.perf_counter()
    try:
        history = _fit_phases(config, gan, strategy, train_ds, val_ds, info.val_records, start_epoch,
                              done_in_epoch,
                              steps_per_epoch, callback_list, guard, manager, log)
    except tf.errors.DataLossError as e:
        raise builders.DataError(
            f"corrupt TFRecord data while training: {e.message.splitlines()[0]}; the last checkpoint "
            f"is {manager.latest_checkpoint or '(none yet)'}"
        ) from e
    finally:
        writer.close()  # (flushed: the events file is whole however the run ends)
    seconds = time.perf_counter() - start
    generator_path = rundir.path(run.model_dir, rundir.GENERATOR)
    if chief:
        gan.inference_generator.save(generator_path)
    else:
        shutil.rmtree(_checkpoint_dir(run.model_dir, chief, strategy), ignore_errors=True)
    final = {k: float(v[-1]) for k, v in history.items()}
    result = RunResult(int(gan.g_optimizer.iterations.numpy()), int(epoch.numpy()), seconds,
                       throughput.rate, final, generator_path)
    if chief:
        builders.write_json(rundir.path(run.model_dir, rundir.SUMMARY), dataclasses.asdict(result))
    shown = ", ".join(f"{k} {v:.4g}" for k, v in final.items() if k.startswith("val_"))
    log(f"done: {result.steps} steps, {result.epochs} epochs in {seconds:.0f} s "
        f"({result.images_per_second:.1f} img/s){'; ' + shown if shown else ''}; generator: {generator_path}")
    return result
