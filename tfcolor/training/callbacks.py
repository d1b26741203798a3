"""Keras callbacks of a training run: NaN guard, checkpoints, logs, figures, progress."""

import csv
import math
import os
import time

import keras
import tensorflow as tf

from tfcolor.core import rundir
from tfcolor.training import figures


def _step(model):
    return int(model.g_optimizer.iterations.numpy())


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or Inf in any loss (the checkpointer then saves nothing)."""

    def __init__(self):
        super().__init__()
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                self.failure = (_step(self.model), name, value)
                self.model.stop_training = True
                return


class Checkpointer(keras.callbacks.Callback):
    """Saves every ``every`` generator steps and at each epoch end, unless the guard tripped."""

    def __init__(self, manager, epoch_variable, every, guard):
        super().__init__()
        self.manager, self.epoch, self.every, self.guard = manager, epoch_variable, every, guard

    def _save(self):
        if self.guard.failure is None:
            self.manager.save(checkpoint_number=_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) % self.every == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.failure is None:
            self.epoch.assign(epoch + 1)
        self._save()


def _learning_rates(model):
    rates = {}
    for name, optimizer in (("lr_g", model.g_optimizer), ("lr_d", model.d_optimizer)):
        rates[name] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    return rates


class RunLogger(keras.callbacks.Callback):
    """Losses averaged over each ``every`` steps to ``losses.csv`` and TensorBoard, per-epoch
    metrics to ``epochs.csv``,
    and after each epoch the PNG figures (loss curves, sample grid) and TensorBoard images."""

    def __init__(self, model_dir, samples, every, writer):
        super().__init__()
        self.model_dir, self.samples, self.every, self.writer = model_dir, samples, every, writer
        self.loss_path = rundir.path(model_dir, rundir.LOSSES_CSV)
        self.epoch_path = rundir.path(model_dir, rundir.EPOCHS_CSV)
        os.makedirs(rundir.path(model_dir, rundir.SAMPLES), exist_ok=True)

    @staticmethod
    def _append(path, row):
        new = not os.path.exists(path)
        if not new:
            with open(path) as f:
                fields = next(csv.reader(f), [])
            if set(row) - set(fields):  # new columns (e.g. after L1 pretraining): rewrite
                with open(path) as f:
                    old = list(csv.DictReader(f))
                fields = fields + sorted(set(row) - set(fields))
                with open(path, "w", newline="") as f:
                    writer = csv.DictWriter(f, fields)
                    writer.writeheader()
                    writer.writerows(old)
        else:
            fields = list(row)
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fields, restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)

    def on_epoch_begin(self, epoch, logs=None):
        self._last = (0, {})  # (batches seen, running means) at the last logged point
        self._latest = None  # (batch, logs) of the epoch's last batch

    def on_train_batch_end(self, batch, logs=None):
        self._latest = (batch, logs)
        if _step(self.model) % self.every:
            return
        self._log_point(batch, logs)

    def _log_point(self, batch, logs):
        step = _step(self.model)
        # Keras logs are means since the epoch began; the mean over the window since the
        # last point is (t * m_t - s * m_s) / (t - s).
        seen, previous = self._last
        count = batch + 1
        means = {k: float(v) for k, v in (logs or {}).items()}
        window = {k: (count * v - seen * previous.get(k, 0.0)) / (count - seen) for k, v in means.items()}
        self._last = (count, means)
        row = {"step": step, **window, **_learning_rates(self.model)}
        self._append(self.loss_path, row)
        with self.writer.as_default(step=step):
            for name, value in row.items():
                if name != "step":
                    tf.summary.scalar(f"train/{name}", value)

    def on_epoch_end(self, epoch, logs=None):
        step = _step(self.model)
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self._append(self.epoch_path, {"epoch": epoch + 1, "step": step, **logs})
        if not os.path.exists(self.loss_path) and self._latest is not None:
            self._log_point(*self._latest)  # a run shorter than --log_every: its one point, and the figure
        grid = None
        if self.samples is not None:  # --val_images=0: no sample grid
            l_norm, real_ab = self.samples[0], self.samples[1]
            fake_ab = self.model.inference_generator(l_norm, training=False)
            grid = figures.sample_grid(l_norm, fake_ab, real_ab)
            figures.save_grid(grid, rundir.sample_grid(self.model_dir, epoch + 1),
                              title=f"epoch {epoch + 1}, step {step}")
        if os.path.exists(self.loss_path):  # none yet when an epoch is shorter than --log_every
            figures.plot_losses(figures.read_log(self.loss_path), rundir.path(self.model_dir, rundir.LOSSES_PNG))
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                if name.startswith("val_"):
                    tf.summary.scalar(f"val/{name[4:]}", value)
            if grid is not None:
                tf.summary.image("samples/gray_generated_truth", grid[None], step=step)
        self.writer.flush()


class Throughput(keras.callbacks.Callback):
    """Counts images and time for the summary line."""

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size
        self.images = 0
        self.seconds = 0.0
        self._start = None

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if batch > 0:  # the first batch of a fit() call includes tracing
            self.seconds += time.perf_counter() - self._start
            self.images += self.batch_size

    @property
    def rate(self):
        return self.images / self.seconds if self.seconds else float("nan")
