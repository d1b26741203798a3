"""Makes lpips_vgg.npz, the LPIPS (VGG) weights tfcolor's evaluation reads, from the two
official PyTorch files. Run once, on any machine with PyTorch (tfcolor itself does not need it):

    pip install torch   # CPU build is enough
    # vgg.pth: the LPIPS v0.1 linear layers, in the lpips package (lpips/weights/v0.1/vgg.pth)
    #   or github.com/richzhang/PerceptualSimilarity
    # vgg16-397923af.pth: torchvision's ImageNet VGG16
    #   (https://download.pytorch.org/models/vgg16-397923af.pth)
    python -m tfcolor.convert_lpips --lpips_weights=vgg.pth --vgg_weights=vgg16-397923af.pth \\
        --output=lpips_vgg.npz

The .npz holds ``features.N.weight`` / ``features.N.bias`` of VGG16's 13 convolutions
(PyTorch layout, [out, in, kh, kw]) and ``lin0`` ... ``lin4``, the non-negative channel
weights of the five LPIPS layers. Not run on the development machines (no PyTorch there);
the LPIPS formula itself is tested in tests/test_metrics.py.
"""

import numpy as np
from absl import app, flags

from tfcolor.core import entry

flags.DEFINE_string("lpips_weights", None, "LPIPS v0.1 vgg.pth (linear layers).")
flags.DEFINE_string("vgg_weights", None, "torchvision VGG16 ImageNet weights (vgg16-397923af.pth).")
flags.DEFINE_string("output", "lpips_vgg.npz", "Where to write the .npz.")
flags.mark_flags_as_required(["lpips_weights", "vgg_weights"])
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import torch

    from tfcolor.eval.perceptual import LPIPS_TAPS
    from tfcolor.models.vgg import VGG_CONVS

    vgg = torch.load(FLAGS.vgg_weights, map_location="cpu")
    lin = torch.load(FLAGS.lpips_weights, map_location="cpu")
    arrays = {}
    for i in VGG_CONVS:
        arrays[f"features.{i}.weight"] = vgg[f"features.{i}.weight"].numpy().astype(np.float32)
        arrays[f"features.{i}.bias"] = vgg[f"features.{i}.bias"].numpy().astype(np.float32)
    for k in range(len(LPIPS_TAPS)):
        arrays[f"lin{k}"] = lin[f"lin{k}.model.1.weight"].numpy().astype(np.float32).reshape(-1)
    np.savez(FLAGS.output, **arrays)
    print(f"wrote {FLAGS.output} ({len(arrays)} arrays)")


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
