"""Draws docs/architecture.png: tfcolor's stages, their modules, and the direction of imports.

The modules in each box are read from the package folders, so the picture follows the code:

    python tools/architecture_figure.py
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (title, package folder or list of modules, what it is for, column, row); rows go down the layers.
BOXES = [
    ("commands (tfcolor/*.py)", ["train", "evaluate", "colorize", "export", "client", "convert_lpips"],
     "thin absl mains; flags live here only", 1.5, 0),
    ("data_prep/", "data_prep", "photo collections -> Lab TFRecords (local or Beam)", 0, 0),
    ("tfcolor/training/", "tfcolor/training", "config (flags' fields), builders, loop, callbacks", 1, 1),
    ("tfcolor/eval/", "tfcolor/eval", "metrics on RGB, FID/LPIPS, photo streams, reports", 2, 1),
    ("tfcolor/deploy/", "tfcolor/deploy", "full-resolution inference, SavedModel, TFLite", 2, 2),
    ("tfcolor/gans/", "tfcolor/gans", "3 objectives on one train_step, losses, optimizers", 1, 2),
    ("tfcolor/models/", "tfcolor/models", "generators, discriminators, layers, registry", 1.5, 3),
    ("tfcolor/core/", "tfcolor/core", "Lab math, record schema, reader, photos, run folder", 1.5, 4),
]
ARROWS = [  # importer -> imported (down only)
    ("commands (tfcolor/*.py)", "tfcolor/training/"), ("commands (tfcolor/*.py)", "tfcolor/eval/"),
    ("tfcolor/training/", "tfcolor/gans/"),
    ("tfcolor/eval/", "tfcolor/deploy/"), ("tfcolor/deploy/", "tfcolor/models/"),
    ("tfcolor/gans/", "tfcolor/models/"), ("tfcolor/models/", "tfcolor/core/"),
]
W, H = 2.6, 1.05


def modules(spec):
    if isinstance(spec, list):
        return spec
    folder = os.path.join(REPO, spec)
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "__init__.py")


def _lines(names, width):
    """The module names as lines of at most ``width`` characters (what fits a box)."""
    lines = [""]
    for name in names:
        candidate = f"{lines[-1]}, {name}" if lines[-1] else name
        if len(candidate) > width and lines[-1]:
            lines.append(name)
        else:
            lines[-1] = candidate
    return lines


def main(path=os.path.join(REPO, "docs", "architecture.png")):
    fig, ax = plt.subplots(figsize=(11, 9.5))
    centres = {}
    for title, spec, purpose, col, row in BOXES:
        x, y = col * 3.2, -row * 1.9
        centres[title] = (x, y)
        colour = "#dbe9f6" if title.startswith("tfcolor/core") else "#fdf1d6" if "data_prep" in title else "#eef5e9"
        ax.add_patch(FancyBboxPatch((x - W / 2, y - H / 2), W, H, boxstyle="round,pad=0.08",
                                    facecolor=colour, edgecolor="#445"))
        ax.text(x, y + 0.36, title, ha="center", va="center", fontsize=10.5, weight="bold")
        ax.text(x, y + 0.12, purpose, ha="center", va="center", fontsize=7.2, style="italic", wrap=True)
        names = modules(spec)
        lines = _lines(names, 44)
        ax.text(x, y - 0.22, "\n".join(lines), ha="center", va="center", fontsize=7, family="monospace")
    for a, b in ARROWS:
        (x1, y1), (x2, y2) = centres[a], centres[b]
        ax.add_patch(FancyArrowPatch((x1, y1 - H / 2 - 0.08), (x2, y2 + H / 2 + 0.08), arrowstyle="-|>",
                                     mutation_scale=14, color="#556", linewidth=1.2,
                                     connectionstyle="arc3,rad=0.0"))
    # data_prep -> core, down the left side and across under the stages
    (x1, y1), (x2, y2) = centres["data_prep/"], centres["tfcolor/core/"]
    ax.add_patch(FancyArrowPatch((x1, y1 - H / 2 - 0.08), (x2 - W / 2 - 0.1, y2), arrowstyle="-|>",
                                 mutation_scale=14, color="#556", linewidth=1.2,
                                 connectionstyle="angle,angleA=-90,angleB=180,rad=0"))
    ax.text(3.2 * 1.0, 0.95, "imports go down only: a layer may use any layer below it, never one above "
            "(lint-imports, run by make test)",
            ha="center", fontsize=9, color="#334")
    ax.set_xlim(-1.6, 3.2 * 2 + 1.6)
    ax.set_ylim(-1.9 * 4 - 0.9, 1.2)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
