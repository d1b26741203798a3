"""User hints on real photos no model saw: PSNR against the number of hint points (0-50, Zhang
et al. 2017's protocol) for Levin et al. 2004's propagation alone, for a model's colours corrected
by it (prior weights), and for a hint generator, beside the gray floor.

    python -m bench.hints --work_dir=runs/quality_more --out=runs/hints_sweep
    python -m bench.hints --work_dir=runs/quality_more --out=runs/hints_sweep \
        --hint_model=runs/quality_more/runs/lite0_frozen_ema_hints --prior_weights=0.001,0.01
    python -m bench.hints --sets=val_photos,check_photos,snapshot_photos --counts=5,10,20 \
        --guides=1,3,10 --shrinks=0.8,0.9 --gray_pulls=0.0001,0.001,0.01     # Levin variants

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
    if model.refines_hints:  # what `colorize --hints` runs: Levin's colours, then the model's hint refiner
        engines["Levin + the model's refiner"] = lambda gray, hints: model.hinted(gray, hints)
    for size in [int(s) for s in args.levin_sizes.split(",") if s and int(s) != hinting.PROPAGATION_SIZE]:
        engines[f"Levin 2004 solved at {size} px"] = (
            lambda gray, hints, size=size: hinting.propagate(gray, hints, size=size))
    for weight in [float(w) for w in args.prior_weights.split(",") if w]:
        engines[f"model+levin(prior {weight:g})"] = (
            lambda gray, hints, w=weight: hinting.propagate(gray, hints, auto(gray), prior_weight=w))
    for beta in [float(b) for b in args.guides.split(",") if b]:
        engines[f"Levin, affinities with the model's a*b* x{beta:g}"] = (
            lambda gray, hints, beta=beta: guided(gray, hints, auto(gray), beta))
    for factor in [float(f) for f in args.shrinks.split(",") if f]:
        engines[f"Levin's a*b* x{factor:g}"] = (
            lambda gray, hints, factor=factor: shrunk(hinting.propagate(gray, hints), factor) if hints.points
            else auto(gray))
    for weight in [float(w) for w in args.gray_pulls.split(",") if w]:
        engines[f"Levin pulled to gray ({weight:g})"] = (
            lambda gray, hints, w=weight: hinting.propagate(gray, hints, gray, prior_weight=w))
    if args.hint_model:
        network, _ = load_colorizer(args.hint_model, render_size=args.render_size, chroma_gain=args.chroma_gain)
        if not network.takes_hints:
            raise SystemExit(f"{args.hint_model} is no hint generator (trained without --hints)")
        engines["hint network"] = lambda gray, hints: network.hinted(gray, hints) if hints.points else network(gray)
    return engines


def guided(gray, hints, model_rgb, beta):
    """Levin's propagation with affinities that read the model's a*b* (times ``beta``, normalised)
    beside the gray: the model's colour edges stop the hints' colours too."""
    from tfcolor.core import colornp, levin
    from tfcolor.deploy import hinting

    if not hints.points:
        return model_rgb
    l_full = colornp.lightness(gray)
    small, hint_ab, mask = hinting.solve_inputs(l_full, hints)
    model_ab = hinting.solve_colours(model_rgb, *small.shape)
    weights = levin.affinity_weights(np.concatenate([small[..., None], beta * model_ab], -1))
    return hinting.with_ab(l_full, levin.propagate(small, hint_ab, mask[..., 0], weights=weights))


def shrunk(rgb, factor):
    """``rgb`` with its a*b* times ``factor`` (its L kept)."""
    from tfcolor.core import colornp, hints as hint_format

    lab = hint_format.lab_of_rgb(rgb)
    return colornp.lab_to_rgb_uint8(np.concatenate([lab[..., :1], lab[..., 1:] * factor], -1).astype(np.float32))


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
    parser.add_argument("--guides", default="",
                        help="also Levin with affinities that read the model's a*b* times these, one engine each")
    parser.add_argument("--shrinks", default="", help="also Levin's a*b* times these, one engine each")
    parser.add_argument("--gray_pulls", default="", help="also Levin pulled towards gray by these weights")
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
