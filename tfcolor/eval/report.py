"""Reports of an evaluation (library of ``python -m tfcolor.evaluate``): report.md, the grid
of gray | colourised | real photos, histograms, and the comparison of several evaluations."""

import json
import os

import numpy as np

from tfcolor.core import fs

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "mae": False, "uiqi": True, "lpips": False, "fid": False}


ROWS = (("psnr", "PSNR (dB)"), ("ssim", "SSIM"), ("mae", "MAE (0-255)"), ("uiqi", "UIQI"),
        ("lpips", "LPIPS"), ("fid", "FID"), ("colorfulness", "colourfulness"),
        ("delta_colorfulness", "delta CF"))


def _arrow(name):
    if name == "delta_colorfulness":
        return " (0 best)"
    if name not in HIGHER_IS_BETTER:
        return ""
    return " (higher better)" if HIGHER_IS_BETTER[name] else " (lower better)"


def report_markdown(result):
    summary = result["summary"]
    size = result.get("eval_size")
    where = f"the centre {size}x{size} square of each photo" if size else "each photo's resolution"
    lines = [f"# Evaluation of {result['model']}", "",
             f"{result['count']} photos from `{result['data']}`, metrics on RGB at {where}; "
             "the model sees the gray photo (L, ab = 0)"
             + (f" and {result['hints']} hint points drawn from the true colours (Zhang et al. 2017's test)."
                if result.get("hints") else "."), ""]
    if result.get("skipped"):
        lines += ["Skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(result["skipped"].items())), ""]
    if result.get("notes"):
        lines += [f"- {note}" for note in result["notes"]] + [""]
    lines += ["| metric | model | gray input (floor) |", "|---|---:|---:|"]
    for name, label in ROWS:
        if name in summary["model"]:
            lines.append(f"| {label}{_arrow(name)} | {summary['model'][name]:.4g} | {summary['gray'][name]:.4g} |")
    real, factor = summary["truth"]["colorfulness"], chroma_factor_to_real(summary)
    match = (f" (the model's: {100 / factor:.0f} % of it; its a*b* x {factor:.2f} would match it: "
             "--chroma_gain)") if factor else ""
    lines += ["", f"Colourfulness of the real photos: {real:.4g}{match}.", "",
              "![grid](grid.png)", "", "![PSNR](hist_psnr.png) ![colourfulness](hist_colorfulness.png)", ""]
    return "\n".join(lines)


def chroma_factor_to_real(summary):
    """real photos' mean colourfulness / the colourised photos': the factor of the evaluated
    model's a*b* that makes its photos as colourful as the real ones on average (colourfulness is
    close to linear in the factor until colours leave the gamut); 0 for a gray model."""
    model = summary["model"].get("colorfulness", 0.0)
    return summary["truth"]["colorfulness"] / model if model > 0.5 else 0.0


def _grid(kept, height=160):
    from PIL import Image

    rows = []
    for triple in kept:
        images = [Image.fromarray(t) for t in triple]
        images = [im.resize((max(1, round(im.width * height / im.height)), height), Image.BICUBIC)
                  for im in images]
        rows.append(np.concatenate([np.asarray(im) for im in images], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)


def write_outputs(output_dir, result, kept):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "metrics.json"), "w") as f:
        f.write(fs.json_text(result, indent=1))
    with open(os.path.join(output_dir, "report.md"), "w") as f:
        f.write(report_markdown(result))
    if kept:
        Image.fromarray(_grid(kept)).save(os.path.join(output_dir, "grid.png"))
    per_image = result["per_image"]
    for name, label in (("psnr", "PSNR (dB)"), ("colorfulness", "colourfulness")):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.hist([row["gray"][name] for row in per_image], bins=20, alpha=0.6, label="gray input")
        ax.hist([row["model"][name] for row in per_image], bins=20, alpha=0.6, label="model")
        if name == "colorfulness":
            ax.hist([row["truth_colorfulness"] for row in per_image], bins=20, alpha=0.6, label="real photos")
        ax.set_xlabel(label)
        ax.set_ylabel("photos")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(output_dir, f"hist_{name}.png"), dpi=100)
        plt.close(fig)


def run_labels(dirs):
    """A unique name per evaluation folder: its path relative to the folders' common parent
    (runs/a/eval and runs/b/eval: a/eval and b/eval); one folder: its own name."""
    paths = [os.path.normpath(os.path.abspath(d)) for d in dirs]
    if len(paths) == 1:
        return [os.path.basename(paths[0])]
    parent = os.path.commonpath(paths)
    return [os.path.relpath(p, parent) if p != parent else os.path.basename(p) for p in paths]


def compare(dirs, output_dir):
    """One table and bar charts over several evaluation output folders."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = []
    for directory, label in zip(dirs, run_labels(dirs), strict=True):
        path = os.path.join(directory, "metrics.json")
        if not os.path.isfile(path):
            raise ValueError(f"--compare: {directory} holds no metrics.json (evaluate into it first: "
                             f"python -m tfcolor.evaluate --output_dir={directory} ...)")
        with open(path) as f:
            runs.append((label, json.load(f)))
    names = [n for n, _ in ROWS if all(n in r["summary"]["model"] for _, r in runs)]
    labels = dict(ROWS)
    lines = ["# Comparison", "", "| run | photos | " + " | ".join(labels[n] + _arrow(n) for n in names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    floors = [tuple(round(result["summary"]["gray"][n], 6) for n in names) for _, result in runs]
    shared = len(set(floors)) == 1  # the same photos: one floor for all
    for run, result in runs:
        values = " | ".join(f"{result['summary']['model'][n]:.4g}" for n in names)
        lines.append(f"| {run} | {result['count']} | {values} |")
        if not shared:  # each run beside the floor of its own photos
            gray = result["summary"]["gray"]
            lines.append(f"| {run}: gray input (floor) | | " + " | ".join(f"{gray[n]:.4g}" for n in names) + " |")
    gray = runs[0][1]["summary"]["gray"]
    if shared:
        lines.append("| gray input (floor) | | " + " | ".join(f"{gray[n]:.4g}" for n in names) + " |")
    os.makedirs(output_dir, exist_ok=True)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        ax.bar([r for r, _ in runs], [res["summary"]["model"][name] for _, res in runs], color="tab:blue")
        if shared:
            ax.axhline(gray[name], color="gray", linestyle="--", label="gray input")
        else:
            ax.scatter([r for r, _ in runs], [res["summary"]["gray"][name] for _, res in runs], color="gray",
                       marker="_", s=400, zorder=3, label="gray input (each run's)")
        ax.set_title(labels[name] + _arrow(name), fontsize=9)
        ax.tick_params(axis="x", rotation=45, labelsize=8)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(output_dir, "compare.png"), dpi=100)
    plt.close(fig)
    lines += ["", "![comparison](compare.png)", ""]
    with open(os.path.join(output_dir, "compare.md"), "w") as f:
        f.write("\n".join(lines))
    return "\n".join(lines)
