"""Evaluating and shipping bench/quality.py's runs: each model on the held-out and check photos
beside the gray floor (tfcolor.evaluate), the chroma gain calibrated on the held-out photos, and a
run copied into saved_models/ without this machine's paths.
"""

import json
import os
import sys

import numpy as np

from bench.common import ROOT, log, run

def raw_generator(model_dir, out_dir):
    """The raw generator of an ``--ema_decay`` run (the weights the optimizer moved, before
    averaging: the same run without weight averaging), from its last checkpoint, saved as a run
    folder (generator.keras and config.json with ema_decay 0) that evaluate takes."""
    from tfcolor.core import rundir

    if rundir.has_generator(out_dir):
        return out_dir
    import tensorflow as tf

    from tfcolor.models import load_generator_file

    generator = load_generator_file(rundir.path(model_dir, rundir.GENERATOR))  # the average, overwritten
    latest = tf.train.latest_checkpoint(rundir.path(model_dir, rundir.CHECKPOINTS))
    averaged = [w.copy() for w in generator.get_weights()]
    tf.train.Checkpoint(gan=tf.train.Checkpoint(generator=generator)).restore(
        latest).expect_partial().assert_existing_objects_matched()
    changed = sum(not np.array_equal(a, b) for a, b in zip(averaged, generator.get_weights()))
    log(f"{out_dir}: the raw generator of {latest} ({changed} of {len(averaged)} arrays differ from the average)")
    config = rundir.read_config(model_dir)
    config["optim"]["ema_decay"] = 0.0
    os.makedirs(out_dir, exist_ok=True)
    with open(rundir.path(out_dir, rundir.CONFIG), "w") as f:
        json.dump(config, f, indent=2)
    generator.save(rundir.path(out_dir, rundir.GENERATOR))
    return out_dir


def eval_label(label, render_size=0):
    """The evaluation folders' name of a model seeing the photos at ``render_size`` (0: its own)."""
    return label + (f"_r{render_size}" if render_size else "")


def evaluate_model(model, photos, eval_dir, render_size=0, chroma_gain=0.0):
    """tfcolor.evaluate of a model on a folder of whole photos into eval_dir (kept: run once)."""
    if not os.path.exists(os.path.join(eval_dir, "metrics.json")):
        log(f"evaluating {model} on {photos}" + (f" at {render_size} px" if render_size else "")
            + (f" with chroma gain {chroma_gain:g}" if chroma_gain else ""))
        run([sys.executable, "-m", "tfcolor.evaluate", f"--model={model}", f"--data={photos}",
             f"--output_dir={eval_dir}", "--inception_weights=", "--grid_images=12",
             f"--render_size={render_size}", f"--chroma_gain={chroma_gain}"])


def evaluate_both(model, label, val_dir, check_dir, work, evals, checks, **settings):
    """The model on the held-out photos (work/eval/LABEL) and on the check photos (work/eval_check/LABEL)."""
    for photos, folder, found in ((val_dir, "eval", evals), (check_dir, "eval_check", checks)):
        evaluate_model(model, photos, os.path.join(work, folder, label), **settings)
        found.append(os.path.join(work, folder, label))


def calibrated_gain(eval_dir):
    """The chroma gain (2 decimals) that makes the colourisations of an evaluation (at gain 1) as
    colourful as its real photos on average: chosen on the held-out photos alone."""
    from tfcolor.eval.report import chroma_factor_to_real

    with open(os.path.join(eval_dir, "metrics.json")) as f:
        return round(chroma_factor_to_real(json.load(f)["summary"]), 2)


def portable(value):
    """A run's config or summary without the paths of this machine: absolute paths inside the
    repository become relative to it, others keep their last name only (shipped files carry no
    machine's paths)."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        inside = os.path.commonpath([ROOT, os.path.abspath(value)]) == ROOT
        return os.path.relpath(value, ROOT) if inside else os.path.basename(value)
    return value


def ship(model_dir, target, render_size=0, chroma_gain=0.0):
    """Copies a run's generator (its weights stored as float16: tfcolor.models.storage), config
    and summary into ``target`` (the shipped model's folder); a ``render_size`` and a
    ``chroma_gain`` (other than 1) go into the config as the model's defaults."""
    from tfcolor.core import rundir
    from tfcolor.models import storage

    os.makedirs(target, exist_ok=True)
    storage.save_half(rundir.path(model_dir, rundir.GENERATOR), rundir.path(target, rundir.GENERATOR))
    with open(rundir.path(model_dir, rundir.SUMMARY)) as f:
        summary = portable(json.load(f))
    with open(rundir.path(target, rundir.SUMMARY), "w") as f:
        json.dump(summary, f, indent=2)
    config = portable(rundir.read_config(model_dir))
    if render_size:
        config[rundir.RENDER_SIZE] = render_size
    if chroma_gain and chroma_gain != 1:
        config[rundir.CHROMA_GAIN] = chroma_gain
    with open(rundir.path(target, rundir.CONFIG), "w") as f:
        json.dump(config, f, indent=2)
    log(f"shipped {model_dir} to {target}")
