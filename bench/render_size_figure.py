"""The effect of --render_size, in one picture: held-out photos colourised by one generator seeing
them at several sizes (gray | each render size | real photo).

    python -m bench.render_size_figure --model=runs/quality/runs/pix2pix \\
        --photos=runs/quality/val_photos/a.jpg,runs/quality/val_photos/b.jpg --sizes=64,128,256 --out=render_size.png
"""

import argparse

import numpy as np
from PIL import Image, ImageDraw

from tfcolor.deploy.colorizer import load_colorizer, read_photo


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--model", required=True)
    parser.add_argument("--photos", required=True, help="comma-separated photo files")
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument("--width", type=int, default=320, help="width of each panel")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    colorizers = {size: load_colorizer(args.model, render_size=size)[0] for size in sizes}
    rows = []
    for path in args.photos.split(","):
        rgb, _ = read_photo(path)
        gray = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, axis=-1)
        panels = [("gray input", gray)] + [(f"render_size={s}", colorizers[s](gray)) for s in sizes]
        panels.append(("real photo", rgb))
        row = []
        for label, image in panels:
            panel = Image.fromarray(image)
            panel = panel.resize((args.width, round(panel.height * args.width / panel.width)), Image.LANCZOS)
            ImageDraw.Draw(panel).text((4, 4), label, fill=(255, 255, 255))
            row.append(np.asarray(panel))
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
