"""PNG figures of a run, made with matplotlib (Agg): loss curves and sample grids."""

import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfcolor.core import color  # noqa: E402


def read_log(path):
    """Columns of a CSV log as float arrays."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {key: np.array([float(row[key]) if row[key] != "" else np.nan for row in rows])
            for key in rows[0]}


def plot_losses(columns, path, title="training losses"):
    """Generator and discriminator losses (and the critic's Wasserstein estimate) per step."""
    panels = [("generator", ["g_loss", "g_adv"]), ("discriminator / critic", ["d_loss", "gp"]),
              ("reconstruction", ["l1"])]
    if "w_distance" in columns:
        panels.append(("critic estimate of the Wasserstein distance", ["w_distance"]))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True)
    for ax, (name, keys) in zip(np.atleast_1d(axes), panels):
        for key in keys:
            if key in columns and np.isfinite(columns[key]).any():
                ax.plot(columns["step"], columns[key], label=key, linewidth=1)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("generator step")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def sample_grid(l_norm, fake_ab, real_ab):
    """uint8 image: one row per sample, columns gray | generated | ground truth. A hint
    generator's input (L and the hint channels) shows its hints on the gray photo."""
    l_norm = np.asarray(l_norm)
    if l_norm.shape[-1] > 1:
        hint_ab, mask = l_norm[..., 1:3], l_norm[..., 3:4]
        l_norm = l_norm[..., :1]
        gray = color.normalized_lab_to_rgb(l_norm, hint_ab * mask).numpy()
    else:
        gray = np.repeat(((l_norm + 1.0) / 2.0), 3, axis=-1)
    fake = color.normalized_lab_to_rgb(l_norm, fake_ab).numpy()
    real = color.normalized_lab_to_rgb(l_norm, real_ab).numpy()
    rows = [np.concatenate([g, f, r], axis=1) for g, f, r in zip(gray, fake, real)]
    grid = np.concatenate(rows, axis=0)
    return (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)


def save_grid(grid, path, title=""):
    height, width = grid.shape[:2]
    scale = max(1.0, 384 / width)
    fig = plt.figure(figsize=(width * scale / 90, height * scale / 90 + 0.4), dpi=90)
    ax = fig.add_axes([0, 0, 1, height * scale / 90 / (height * scale / 90 + 0.4)])
    ax.imshow(grid, interpolation="nearest")
    ax.axis("off")
    fig.suptitle(f"{title}   gray | generated | truth", fontsize=9)
    fig.savefig(path, dpi=90)
    plt.close(fig)
