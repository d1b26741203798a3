"""The layout of a training run's folder (``--model_dir``): every file name in one place.

A run folder holds ``flags.txt`` (a flagfile that reruns the experiment), ``config.json``,
``checkpoints/``, ``logs/`` (TensorBoard), ``losses.csv``, ``epochs.csv``, ``losses.png``,
``samples/epoch_NNN.png``, ``summary.json`` and ``generator.keras`` (the final generator).
"""

import json
import os

FLAGS = "flags.txt"
CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
WORKER_LOGS = ".worker_logs"
LOSSES_CSV = "losses.csv"
EPOCHS_CSV = "epochs.csv"
LOSSES_PNG = "losses.png"
SAMPLES = "samples"
SUMMARY = "summary.json"
GENERATOR = "generator.keras"
# The learned refinement of Levin's propagation of user hints (tfcolor.models.hint_refiner), beside
# the generator of a model without hint inputs; none: Levin's propagation alone.
HINT_REFINER = "hint_refiner.keras"
# A key of config.json: the size the generator renders at by default (inference.generator_at),
# when it is not its training size. Written for the shipped model (bench/quality.py --ship).
RENDER_SIZE = "render_size"
# --render_size of the commands that run a generator (colorize, evaluate, export).
RENDER_SIZE_HELP = ("The size the network sees of each photo: the generator rebuilt at this input size, same "
                    "weights (like DeOldify's render factor); 0: the model's own (its config.json's "
                    "render_size, else its training size). Output size and L are unchanged.")
# A key of config.json: the factor the generator's a*b* are multiplied by by default
# (inference.with_chroma_gain), when it is not 1. Written for the shipped model (bench/quality.py
# --ship_chroma_gain), calibrated on held-out photos.
CHROMA_GAIN = "chroma_gain"
# --chroma_gain of the commands that run a generator (colorize, evaluate, export).
CHROMA_GAIN_HELP = ("Multiply the predicted a*b* colour by this (above 1: more vivid, below: calmer; 1: as the "
                    "network predicts); 0: the model's own (its config.json's chroma_gain, else 1). evaluate's "
                    "report gives the gain that matches the real photos' colourfulness.")


def path(model_dir, name):
    """``model_dir/name`` for one of the names above."""
    return os.path.join(model_dir, name)


def sample_grid(model_dir, epoch):
    """The sample grid written after ``epoch`` (1-based)."""
    return os.path.join(model_dir, SAMPLES, f"epoch_{epoch:03d}.png")


def generator_file(path_or_file):
    """The generator file of a run folder, or the path itself when it is a ``.keras`` file."""
    return path_or_file if path_or_file.endswith(".keras") else os.path.join(path_or_file, GENERATOR)


def has_generator(model_dir):
    """True for a run folder holding its final generator."""
    return os.path.isfile(os.path.join(model_dir, GENERATOR))


def read_config(model_dir):
    """The run's config.json as a dict, or None when there is none."""
    file = os.path.join(model_dir or "", CONFIG)
    if not model_dir or not os.path.exists(file):
        return None
    with open(file) as f:
        return json.load(f)
