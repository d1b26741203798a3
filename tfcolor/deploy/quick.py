"""Colouring photos without importing TensorFlow: the shipped model's network as a .tflite file run
by ai-edge-litert, the Lab math and resizes in numpy (tfcolor.core.colornp), as the web page does
in JavaScript. Importing TensorFlow and tracing its graphs take ~10 s of a one-photo command;
this path takes well under a second after the first run on a machine.

The network file is converted from the model's generator.keras once per machine (with
TensorFlow, the first time) and kept in the cache folder (``$TFCOLOR_CACHE``, else
``~/.cache/tfcolor``) under a name made from the model's files, so a changed model is converted
again. Its colours match the TensorFlow path's within rounding (tests: PSNR >= 40 dB).
"""

import hashlib
import os
import sys

import numpy as np

from tfcolor.core import colornp, rundir
from tfcolor.deploy import litert

CACHE_ENV = "TFCOLOR_CACHE"


def cache_dir():
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "tfcolor")


def model_key(model_dir):
    """A name for a run folder's network: its generator file and config hashed."""
    digest = hashlib.sha256()
    for name in (rundir.GENERATOR, rundir.CONFIG):
        path = rundir.path(model_dir, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:20]


def network_path(model_dir, variant="fp32"):
    """Where the cache keeps a run folder's network of ``variant`` (fp32 or fp16)."""
    suffix = "" if variant == "fp32" else f"-{variant}"  # (fp32: the name of the files cached before)
    return os.path.join(cache_dir(), f"network-{model_key(model_dir)}{suffix}.tflite")


def network_file(model_dir, log=None, variant="fp32", loaded=None):
    """The cached .tflite network (``variant``: fp32, or fp16 for the web page of a model stored
    in float16; at the model's render size and colour strength) of a run folder; converted with
    TensorFlow the first time (from ``loaded``, ``serving.load_generator(model_dir)``'s result,
    when the caller has it)."""
    path = network_path(model_dir, variant)
    if os.path.exists(path):
        return path
    os.makedirs(cache_dir(), exist_ok=True)  # (an OSError here, before converting: no cache to keep it in)
    (log or (lambda m: print(m, file=sys.stderr)))(
        f"first use of {model_dir} on this machine: converting its network for fast start-up ({path})")
    from tfcolor.core import fs
    from tfcolor.deploy import lite
    from tfcolor.deploy.serving import load_generator

    generator, size = loaded or load_generator(model_dir)
    fs.write_bytes_atomic(path, lite.convert_network(generator, size, variant))
    return path


def refiner_file(model_dir, log=None):
    """The cached .tflite of a run folder's hint refiner (rundir.HINT_REFINER; its ``refiner``
    signature, tfcolor.deploy.lite.convert_refiner), converted with TensorFlow the first time;
    None when the folder has none."""
    source = rundir.path(model_dir, rundir.HINT_REFINER)
    if not os.path.isfile(source):
        return None
    with open(source, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:20]
    path = os.path.join(cache_dir(), f"refiner-{key}.tflite")
    if os.path.exists(path):
        return path
    os.makedirs(cache_dir(), exist_ok=True)
    (log or (lambda m: print(m, file=sys.stderr)))(f"first use of {source} on this machine: converting it ({path})")
    from tfcolor.core import fs
    from tfcolor.deploy import lite
    from tfcolor.models import hint_refiner

    fs.write_bytes_atomic(path, lite.convert_refiner(hint_refiner.load(source)))
    return path


class QuickColorizer:
    """uint8 RGB [H, W, 3] -> uint8 RGB [H, W, 3] at the photo's size: L from the photo, a*b*
    from the network at its size, resized back (tfcolor.deploy.inference's recipe in numpy)."""

    def __init__(self, network_path, num_threads=None):
        self.interp = litert.interpreter(network_path, num_threads)
        self.runner = self.interp.get_signature_runner("generator")
        shape = self.runner.get_input_details()["l"]["shape"]
        self.size = int(shape[1])
        if int(shape[-1]) != 1:
            raise ValueError(f"{network_path}: a network taking {shape[-1]} channels (a hint network) has no "
                             "quick path")

    def __call__(self, rgb):
        rgb = np.ascontiguousarray(rgb, np.uint8)
        height, width = rgb.shape[:2]
        l_full = colornp.lightness(rgb)
        l_small = colornp.shrink(l_full, self.size) / colornp.L_SCALE - 1.0
        ab = self.runner(l=l_small[None].astype(np.float32))["ab"][0] * colornp.AB_SCALE
        ab_full = colornp.resize_bilinear(ab, height, width)
        return colornp.lab_to_rgb_uint8(np.concatenate([l_full, ab_full], -1))
