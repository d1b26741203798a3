"""Is a model's hue better than no colour? Its PSNR with the predicted chroma scaled down.

    python -m bench.chroma_scale --model=runs/quality/runs/pix2pix --photos=runs/quality/val_photos

Each photo is colourised as tfcolor.colorize does (the network sees L at its size, its ab is
resized back and joined with the photo's own L), with the predicted a*b* multiplied by each scale
(``--scales``; above 1 strengthens it). Scale 0 is the gray floor, 1 the model as it is. If some
scale between them beats the floor, the model's hues point the right way and only their strength
is off (a hedge, such as a regression loss, would help); if PSNR falls steadily from scale 0, the
hues themselves are wrong on these photos, and no loss weighting of the same model fixes that: it
needs photos (or pretrained weights) that teach the right hues.
"""

import argparse
import glob
import os

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a run directory (generator.keras + config.json)")
    parser.add_argument("--photos", required=True, help="folder of whole held-out photos (jpg/png)")
    parser.add_argument("--scales", default="0,0.25,0.5,0.75,1", help="comma-separated chroma scales")
    parser.add_argument("--render_size", type=int, default=0, help="the network's input size (0: the model's own)")
    args = parser.parse_args()
    scales = sorted({float(s) for s in args.scales.split(",")} | {0.0, 1.0})

    import tensorflow as tf

    from tfcolor.deploy import inference, serving
    from tfcolor.eval import metrics

    generator, size = serving.load_generator(model_dir=args.model, render_size=args.render_size)
    paths = sorted(glob.glob(os.path.join(args.photos, "*.jpg")) + glob.glob(os.path.join(args.photos, "*.png")))
    psnr, colour, real = {s: [] for s in scales}, {s: [] for s in scales}, []
    for path in paths:
        truth = np.asarray(Image.open(path).convert("RGB"))
        real.append(float(metrics.colorfulness(truth[None])[0]))
        rgb = tf.constant(truth[None] / 255.0, tf.float32)
        for scale in scales:
            out = inference.colorize(lambda l, training=False, s=scale: s * generator(l, training=training),
                                     rgb, size)
            out = np.round(np.clip(out.numpy(), 0.0, 1.0) * 255.0).astype(np.uint8)
            psnr[scale].append(float(metrics.psnr(out, truth[None])[0]))
            colour[scale].append(float(metrics.colorfulness(out)[0]))
    print(f"{args.model}: {len(paths)} photos, colourfulness of the real photos {np.mean(real):.2f}")
    print("| chroma scale | PSNR (dB) | colourfulness |\n|---:|---:|---:|")
    for scale in scales:
        label = f"{scale:g}" + (" (gray floor)" if scale == 0 else " (the model)" if scale == 1 else "")
        print(f"| {label} | {np.mean(psnr[scale]):.2f} | {np.mean(colour[scale]):.1f} |")


if __name__ == "__main__":
    main()
