"""Running .tflite files with ai-edge-litert's interpreter, without importing TensorFlow (the
conversion to TFLite, which needs it, is tfcolor.deploy.lite)."""

import os

import numpy as np


def interpreter(model, num_threads=None):
    """An ai-edge-litert interpreter for .tflite bytes or a path."""
    from ai_edge_litert.interpreter import Interpreter

    kwargs = {"model_path": model} if isinstance(model, (str, os.PathLike)) else {"model_content": model}
    return Interpreter(num_threads=num_threads or os.cpu_count(), **kwargs)


def colorize_with(interp, image, hint_rows=None, reference=None):
    """uint8 [H, W, 3] -> uint8 [H, W, 3] through a .tflite file's ``colorize`` signature, or
    with hint rows [N, 6] (tfcolor.core.hints.points_array) its ``colorize_hints``, with a
    reference photo's pixels [M, 3] (tfcolor.deploy.hinting.reference_pixels) or none."""
    image = np.ascontiguousarray(image, np.uint8)[None]
    if hint_rows is None:
        return interp.get_signature_runner("colorize")(image=image)["rgb"][0]
    runner = interp.get_signature_runner("colorize_hints")
    inputs = {"image": image, "hints": np.asarray(hint_rows, np.float32).reshape(-1, 6)}
    if "reference" in runner.get_input_details():  # (files exported before it took one)
        inputs["reference"] = np.zeros([0, 3], np.uint8) if reference is None else \
            np.asarray(reference, np.uint8).reshape(-1, 3)
    return runner(**inputs)["rgb"][0]


def refiner_of(interp):
    """A .tflite file's hint refiner as a callable float32 [1, S, S, 6] -> [1, S, S, 2] (its
    ``refiner`` signature: tfcolor.models.hint_refiner), or None when it has none."""
    from tfcolor.deploy.serving_api import REFINER_SIGNATURE

    if REFINER_SIGNATURE not in interp.get_signature_list():
        return None
    runner = interp.get_signature_runner(REFINER_SIGNATURE)
    return lambda x: runner(x=np.asarray(x, np.float32))["ab"]


def takes_hint_rows(interp):
    """Whether a .tflite file's network reads hints (a hint generator's: its ``generator``
    signature takes L and the hint channels). Every exported file has ``colorize_hints``; for
    other networks it runs Levin's propagation in the graph, for phones, and Python runs
    tfcolor.deploy.hinting's own (faster, and it takes a reference photo)."""
    signatures = interp.get_signature_list()
    if "colorize_hints" not in signatures or "generator" not in signatures:
        return False
    return interp.get_signature_runner("generator").get_input_details()["l"]["shape"][-1] > 1
