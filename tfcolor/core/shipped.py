"""The colouriser that ships with tfcolor: its name and where it lives.

``saved_models/colorizer/`` in the repository holds a training-run folder (``generator.keras``,
``config.json``) with its model card (``MODEL_CARD.md``). ``tfcolor.colorize`` uses it when no
``--model`` is given and ``tfcolor.export`` exports it when given no model; its exports
(``1/``, ``tflite/1/``) land beside it, as TF Serving expects.
"""

import os

from tfcolor.core import rundir

NAME = "colorizer"
MODELS_ROOT = "saved_models"
# The repository's root: tfcolor/core/shipped.py -> ../../
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model_dir():
    """The shipped model's folder (which may be missing: an install without the repository)."""
    return os.path.join(REPO, MODELS_ROOT, NAME)


def default_model():
    """The shipped model's folder; raises FileNotFoundError saying what to do when it is absent."""
    path = model_dir()
    if not rundir.has_generator(path):
        raise FileNotFoundError(
            f"no model given and the shipped one is not here ({rundir.path(path, rundir.GENERATOR)}: it comes "
            "with a clone of the tfcolor repository); pass --model=a training run, SavedModel or .tflite file")
    return path
