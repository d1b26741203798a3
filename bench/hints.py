"""User hints on real photos no model saw: PSNR against the number of hint points (0-50, Zhang
et al. 2017's protocol) for Levin et al. 2004's propagation alone, for a model's colours corrected
by it (prior weights), and for a hint generator, beside the gray floor.

    python -m bench.hints --work_dir=runs/quality_more --out=runs/hints_sweep
    python -m bench.hints --work_dir=runs/quality_more --out=runs/hints_sweep \
        --hint_model=runs/quality_more/runs/lite0_frozen_ema_hints --prior_weights=0.001,0.01

The photo sets are bench.quality's (build them with it first): the 12 held-out photos
(``val_photos``) and the 5 palapeli photos (``check_photos``), and bench.snapshots' 13 photos of
pets, a room, a street ``--sets=snapshot_photos``; long side 512 px, never trained on.
Writes ``OUT/SET/rows.json``, ``curves.md`` and ``curves.png`` per set.
"""

import argparse
import json
import os
import time

import numpy as np
from PIL import Image

from bench.common import ROOT


def load_set(folder):
    return [(os.path.splitext(f)[0], np.asarray(Image.open(os.path.join(folder, f)).convert("RGB")))
            for f in sorted(os.listdir(folder))]


def engines_for(args):
    from tfcolor.core import shipped
    from tfcolor.deploy import hinting
    from tfcolor.deploy.colorizer import load_colorizer

    model, _ = load_colorizer(args.model or shipped.default_model(), chroma_gain=args.chroma_gain)
    cache = {}

    def auto(gray):
        key = gray.tobytes()[:4096] + bytes(str(gray.shape), "ascii")
        if key not in cache:
            cache[key] = model(gray)
        return cache[key]

    engines = {"automatic model (no hints)": lambda gray, hints: auto(gray),
               "Levin 2004 alone": lambda gray, hints: hinting.propagate(gray, hints)}
    for size in [int(s) for s in args.levin_sizes.split(",") if s and int(s) != hinting.PROPAGATION_SIZE]:
        engines[f"Levin 2004 solved at {size} px"] = (
            lambda gray, hints, size=size: hinting.propagate(gray, hints, size=size))
    for weight in [float(w) for w in args.prior_weights.split(",") if w]:
        engines[f"model+levin(prior {weight:g})"] = (
            lambda gray, hints, w=weight: hinting.propagate(gray, hints, auto(gray), prior_weight=w))
    if args.hint_model:
        network, _ = load_colorizer(args.hint_model, render_size=args.render_size, chroma_gain=args.chroma_gain)
        if not network.takes_hints:
            raise SystemExit(f"{args.hint_model} is no hint generator (trained without --hints)")
        engines["hint network"] = lambda gray, hints: network.hinted(gray, hints) if hints.points else network(gray)
    return engines


def figure(photos, engines, count, path, seed=0, long_side=320):
    """Rows gray (hints marked) | each engine with ``count`` protocol points | real colours, for
    ``photos`` [(name, truth)]; the same points as the sweep's (photo i of its set: seed [seed, i])."""
    from tfcolor.core import hints as hint_format
    from tfcolor.deploy.inference import gray_rgb

    rows = []
    for index, name, truth in photos:
        lab = hint_format.lab_of_rgb(truth)
        gray = gray_rgb(truth).numpy()
        points = hint_format.protocol_points(lab[..., 1:], 50, np.random.default_rng([seed, index]))[:count]
        hints = hint_format.Hints(points)
        marked = gray.copy()
        for p in points:
            y, x = int(p.y), int(p.x)
            marked[max(y - 5, 0):y + 6, max(x - 5, 0):x + 6] = 255
            colour = np.array(hint_format.parse_color(hint_format.ab_to_hex(p.ab, float(lab[y, x, 0]))))
            marked[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4] = colour
        cells = [marked] + [fn(gray, hints) for fn in engines.values()] + [truth]
        scale = long_side / max(truth.shape[:2])
        size = (round(truth.shape[1] * scale), round(truth.shape[0] * scale))
        rows.append(np.concatenate([np.asarray(Image.fromarray(c).resize(size, Image.LANCZOS)) for c in cells], 1))
    width = max(r.shape[1] for r in rows)
    grid = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    Image.fromarray(grid).save(path, quality=90)


def main():
    from tfcolor.eval import hint_sweep

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "quality_more"))
    parser.add_argument("--sets", default="val_photos,check_photos")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "hints_sweep"))
    parser.add_argument("--model", default="", help="the automatic model (default: the shipped one)")
    parser.add_argument("--hint_model", default="", help="a hint generator's run folder (trained with --hints)")
    parser.add_argument("--prior_weights", default="",
                        help="Levin's pull towards the model's colours, one engine each")
    parser.add_argument("--levin_sizes", default="",
                        help="also Levin's solve at these long sides (px), one engine each (the default: "
                             "tfcolor.deploy.hinting.PROPAGATION_SIZE)")
    parser.add_argument("--chroma_gain", type=float, default=0.0, help="0: each model's own")
    parser.add_argument("--render_size", type=int, default=0, help="the hint network's render size (0: its own)")
    parser.add_argument("--counts", default=",".join(str(n) for n in hint_sweep.COUNTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default="", help="also write this JPEG: SET/PHOTO,... rows with --figure_points")
    parser.add_argument("--figure_photos", default="", help="comma-separated SET/PHOTO_STEM of the figure's rows")
    parser.add_argument("--figure_points", type=int, default=5)
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    engines = engines_for(args)
    if args.figure:
        chosen = []
        for spec in args.figure_photos.split(","):
            folder, stem = spec.split("/", 1)
            photos = load_set(os.path.join(args.work_dir, folder))
            index = [name for name, _ in photos].index(stem)
            chosen.append((index, stem, photos[index][1]))
        figure(chosen, engines, args.figure_points, args.figure, args.seed)
        print(f"wrote {args.figure}")
        return
    for name in args.sets.split(","):
        folder = os.path.join(args.work_dir, name)
        if not os.path.isdir(folder):
            raise SystemExit(f"{folder}: no such photo set; build it first (python -m bench.quality: "
                             "val_photos, check_photos; python -m bench.snapshots: snapshot_photos)")
        start = time.time()
        rows = hint_sweep.sweep(load_set(folder), engines, counts, args.seed)
        curve = hint_sweep.curves(rows)
        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "rows.json"), "w") as f:
            json.dump(rows, f, indent=1)
        text = hint_sweep.markdown(curve, len(rows) and len({r['photo'] for r in rows}))
        with open(os.path.join(out, "curves.md"), "w") as f:
            f.write(text)
        hint_sweep.plot(curve, os.path.join(out, "curves.png"), f"{name}: PSNR against hint points")
        print(f"{name} ({time.time() - start:.0f} s)\n{text}")


if __name__ == "__main__":
    main()
