"""The snapshot check set: photos of the kind people colourise (pets at home, a room, a street,
fruit, flowers) from packages no model here trains on (bench.sources.SNAPSHOT_PHOTOS); a model
at several colour strengths (--chroma_gain) beside the gray floor, to choose the shipped default
on photos that chose nothing else. --set=people: snapshots of people (bench.sources.PEOPLE_PHOTOS),
for a run trained with `bench.quality --hold_out_people` (the shipped model trained on them);
--set=held_out and --set=palapeli: bench.quality's 12 held-out wallpapers and its 5 palapeli
photos, for the same sweep there. With several models (seeds), a second table: PSNR per gain
and model side by side, and their mean.

    python -m bench.snapshots                                  # the shipped model, gains 1 and 1.3
    python -m bench.snapshots --models=saved_models/colorizer,runs/other --gains=0.8,1,1.15,1.3
    python -m bench.snapshots --set=people --work_dir=runs/quality_people --render_size=96 \
        --models=runs/quality_people/runs/lite0_frozen_ema,runs/quality_people/runs/lite0_frozen_ema_seed1

Fetches two Debian packages under --work_dir (inside the benchmark only), writes the photos
(long side 512 px) to WORK/snapshot_photos and each evaluation to WORK/eval_snapshots/LABEL;
prints one table. `python -m bench.hints --sets=snapshot_photos` sweeps hints on the same set.
"""

import argparse
import json
import os

import numpy as np

from bench.common import ROOT, cpu_model, log
from bench.shipping import evaluate_model
from bench.sources import build_check_set, build_people_set, build_snapshot_set


def held_out_set(work):
    """work/val_photos: bench.quality's 12 held-out wallpapers (made by bench.quality)."""
    folder = os.path.join(work, "val_photos")
    if not os.path.isdir(folder):
        raise SystemExit(f"error: {folder} not found: run bench.quality with --work_dir={work} first")
    return folder


SETS = {"snapshots": build_snapshot_set, "people": build_people_set, "held_out": held_out_set,
        "palapeli": build_check_set}


def table(rows):
    """Markdown rows: per evaluation, mean PSNR / SSIM, colourfulness as a share of the truth's,
    and how many photos beat their gray floor; the floor first."""
    lines = ["| | PSNR (dB) | SSIM | colourfulness (% of real) | above the floor |",
             "|---|---:|---:|---:|---:|"]
    first = True
    for label, metrics in rows:
        images = metrics["per_image"]
        truth = np.mean([i["truth_colorfulness"] for i in images])
        if first:
            gray = metrics["summary"]["gray"]
            lines.append(f"| gray photo (floor) | {gray['psnr']:.2f} | {gray['ssim']:.3f} | 0 % | |")
            first = False
        model = metrics["summary"]["model"]
        above = sum(i["model"]["psnr"] > i["gray"]["psnr"] for i in images)
        lines.append(f"| {label} | {model['psnr']:.2f} | {model['ssim']:.3f} | "
                     f"{100 * model['colorfulness'] / truth:.0f} % | {above} of {len(images)} |")
    return "\n".join(lines)


def gain_table(results, floor):
    """Markdown: PSNR per gain (rows) and model (columns), their mean, and the gray floor.
    ``results``: {model: {gain: mean PSNR}}."""
    models = list(results)
    gains = sorted({g for by_gain in results.values() for g in by_gain})
    lines = ["| gain | " + " | ".join(models) + " | mean |", "|---:|" + "---:|" * (len(models) + 1)]
    for gain in gains:
        values = [results[m][gain] for m in models]
        lines.append(f"| {gain:g} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {np.mean(values):.2f} |")
    return "\n".join(lines + [f"\ngray floor: {floor:.2f} dB"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "quality_more"))
    parser.add_argument("--models", default=os.path.join(ROOT, "saved_models", "colorizer"),
                        help="comma-separated run folders (default: the shipped model)")
    parser.add_argument("--gains", default="1,1.3", help="comma-separated --chroma_gain values")
    parser.add_argument("--set", default="snapshots", choices=sorted(SETS), help="which photos")
    parser.add_argument("--render_size", type=int, default=0, help="the network's size (0: each model's own)")
    args = parser.parse_args()
    work = os.path.abspath(args.work_dir)
    photos = SETS[args.set](work)
    rows, results = [], {}
    for model in args.models.split(","):
        for gain in [float(g) for g in args.gains.split(",")]:
            label = f"{os.path.basename(os.path.normpath(model))}, gain {gain:g}"
            name = os.path.basename(os.path.normpath(model))
            eval_dir = os.path.join(work, f"eval_{args.set}", f"{name}_g{gain:g}" + (
                f"_r{args.render_size}" if args.render_size else ""))
            evaluate_model(model, photos, eval_dir, render_size=args.render_size, chroma_gain=gain)
            with open(os.path.join(eval_dir, "metrics.json")) as f:
                rows.append((label, json.load(f)))
            results.setdefault(name, {})[gain] = rows[-1][1]["summary"]["model"]["psnr"]
    log(f"{len(os.listdir(photos))} {args.set} photos, {cpu_model()}\n{table(rows)}")
    if len(results) > 1:  # several models (seeds): PSNR per gain side by side, and their mean
        log(gain_table(results, rows[0][1]["summary"]["gray"]["psnr"]))


if __name__ == "__main__":
    main()
