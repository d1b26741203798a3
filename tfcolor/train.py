"""Trains a colorization GAN on Lab TFRecords made by data_prep.

Every setting is a flag; each seed setup is a flagfile in experiments/. A run
started again on the same --model_dir resumes where it stopped.

Example usage:

    python -m data_prep.samples --output_dir=runs/quickstart/data
    python -m tfcolor.train --flagfile=experiments/quickstart.flags
    python -m tfcolor.train --flagfile=experiments/pix2pix.flags \\
        --train=data/coco256 --model_dir=runs/pix2pix_coco

--model_dir receives: flags.txt (a flagfile that reruns the experiment),
config.json, checkpoints/, logs/ (TensorBoard), losses.csv, epochs.csv,
losses.png, samples/epoch_NNN.png (gray | generated | truth), summary.json and
generator.keras (the final generator, for tfcolor.export).
"""

import dataclasses
import os
import sys
import warnings

from absl import app, flags, logging

from tfcolor.core import entry, rundir
from tfcolor.training.config import SECTIONS, TrainConfig


def define_flags():
    for cls in SECTIONS.values():
        for field in dataclasses.fields(cls):
            default = field.default
            define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer,
                      float: flags.DEFINE_float, str: flags.DEFINE_string}[type(default)]
            define(field.name, default, field.metadata["help"])


define_flags()
FLAGS = flags.FLAGS


def config_from_flags():
    sections = {name: cls(**{f.name: FLAGS[f.name].value for f in dataclasses.fields(cls)})
                for name, cls in SECTIONS.items()}
    return TrainConfig(**sections)


def flagfile_text():
    """Every training flag with its value: a flagfile that reruns this experiment."""
    lines = [FLAGS[f.name].serialize() for cls in SECTIONS.values() for f in dataclasses.fields(cls)]
    return "\n".join(line for line in lines if line) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags()
    try:
        config.validate()
    except ValueError as e:  # one line, without absl's listing of every flag
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    from tfcolor.training import loop

    done = loop.completed_run(config)
    if done:  # nothing to do, and nothing of the finished run is written again
        logs = ", ".join(f"{k} {v:.4g}" for k, v in sorted(done.get("final_logs", {}).items())
                         if k.startswith("val_") and isinstance(v, (int, float)))
        print(f"complete: {config.run.model_dir} finished {done.get('steps')} steps, {done.get('epochs')} epochs "
              f"in {done.get('seconds', 0):.0f} s{'; ' + logs if logs else ''} (recorded in its summary.json); "
              f"raise --epochs to train on, or give another --model_dir")
        return
    from tfcolor.training import builders  # TensorFlow starts here (not for --help)

    logging.set_verbosity(logging.WARNING)  # keep checkpoint chatter out of the progress output
    # Keras says this when a finite validation set ends, which is how validation works here.
    warnings.filterwarnings("ignore", message="Your input ran out of data")

    devices = None
    if config.run.virtual_devices > 1:
        from tfcolor.training.devices import split_first_device

        _, devices = split_first_device(config.run.virtual_devices, config.run.virtual_device_mb)
    strategy = builders.make_strategy(config.run.strategy, devices)
    if config.run.jit_compile == "true" and builders.mirrors_on_cpu(strategy):
        print("error: --jit_compile with MirroredStrategy on CPU devices is not supported by TensorFlow: use one "
              "device (--virtual_devices=1) or GPUs", file=sys.stderr)
        sys.exit(1)
    if builders.is_chief(strategy):
        os.makedirs(config.run.model_dir, exist_ok=True)
        with open(rundir.path(config.run.model_dir, rundir.FLAGS), "w") as f:
            f.write(flagfile_text())
    try:
        loop.run_training(config, strategy, log=lambda m: print(m, flush=True))
    except (builders.DataError, loop.TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
