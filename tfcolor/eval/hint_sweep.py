"""How much user hints help: PSNR against the number of hint points, per engine, beside the
gray floor (Zhang et al. 2017's protocol, tfcolor.core.hints.protocol_points).

Every engine of a photo gets the same points: the first N of one seeded draw of the largest
count, so a longer curve only adds points. Each point reveals the true mean a*b* of the 9x9
patch around it. Besides PSNR (RGB, whole photo at its size), ``hint_error`` is how far the
output's a*b* (mean of the same 9x9 patch) lies from each hint's, the distance in a*b* units
averaged over the points: what a user sees when a click does not take.
"""

import numpy as np

from tfcolor.core import hints as hint_format
from tfcolor.deploy.inference import gray_rgb

COUNTS = (0, 1, 2, 5, 10, 20, 50)


def psnr(truth, output):
    """PSNR (dB) of two uint8 RGB images."""
    mse = np.mean((truth.astype(np.float64) - output.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def hint_error(output, points):
    """Mean distance (a*b* units) between each point's a*b* and the output's mean a*b* over the
    point's 9x9 patch; None without points."""
    if not points:
        return None  # no hint to miss (JSON null)
    ab = hint_format.lab_of_rgb(output)[..., 1:]
    errors = []
    for p in points:
        y, x, half = int(p.y), int(p.x), hint_format.PROTOCOL_PATCH // 2
        patch = ab[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1].reshape(-1, 2).mean(0)
        errors.append(float(np.hypot(*(patch - np.asarray(p.ab)))))
    return float(np.mean(errors))


def sweep(photos, engines, counts=COUNTS, seed=0):
    """Rows ``{photo, engine, points, psnr, hint_error}``.

    Args:
      photos: ``[(name, uint8 RGB truth)]``.
      engines: ``{name: fn(gray uint8 RGB, Hints) -> uint8 RGB}``; each sees only the photo's
        gray version (its L, a = b = 0) and the hints.
      counts: the numbers of points.
      seed: the points' seed (photo i draws from ``default_rng([seed, i])``).
    """
    rows = []
    for i, (name, truth) in enumerate(photos):
        lab = hint_format.lab_of_rgb(truth)
        gray = gray_rgb(truth).numpy()
        drawn = hint_format.protocol_points(lab[..., 1:], max(counts), np.random.default_rng([seed, i]))
        rows.append({"photo": name, "engine": "gray", "points": 0, "psnr": psnr(truth, gray),
                     "hint_error": None})
        for engine, fn in engines.items():
            for n in counts:
                points = drawn[:n]
                out = fn(gray, hint_format.Hints(points))
                rows.append({"photo": name, "engine": engine, "points": n, "psnr": psnr(truth, out),
                             "hint_error": hint_error(out, points)})
    return rows


def curves(rows):
    """``{engine: {points: (mean psnr, mean hint_error)}}`` over the photos; the gray floor
    as engine ``gray`` at every count."""
    out = {}
    for engine in dict.fromkeys(r["engine"] for r in rows):
        mine = [r for r in rows if r["engine"] == engine]
        out[engine] = {n: (float(np.mean([r["psnr"] for r in mine if r["points"] == n])),
                           float(np.mean([r["hint_error"] for r in mine if r["points"] == n]))
                           if n else None)
                       for n in sorted({r["points"] for r in mine})}
    return out


def plot(curve, path, title=""):
    """The PSNR curves (engines against the number of points), the gray floor as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    counts = sorted({n for c in curve.values() for n in c} - {0})
    for engine, values in curve.items():
        if engine == "gray":
            ax.axhline(values[0][0], color="gray", linestyle="--", label="gray photo (floor)")
            continue
        xs = sorted(values)
        ax.plot([max(x, 0.5) for x in xs], [values[x][0] for x in xs], marker="o", label=engine)
    ax.set_xscale("log")
    ax.set_xticks([0.5] + counts, ["0"] + [str(c) for c in counts])
    ax.set_xlabel("hint points per photo")
    ax.set_ylabel("PSNR (dB, RGB)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(curve, photos=None):
    """The curves as a Markdown table (PSNR per engine and count, the floor as its own row),
    then the mean hint error."""
    counts = sorted({n for c in curve.values() for n in c})
    head = f"## PSNR (dB) against hint points{f' ({photos} photos)' if photos else ''}\n\n"
    lines = ["| engine | " + " | ".join(f"{n} pts" for n in counts) + " |", "|---|" + "---:|" * len(counts)]
    for engine, values in curve.items():
        cells = [f"{values[0][0]:.2f}"] * len(counts) if engine == "gray" else \
            [f"{values[n][0]:.2f}" if n in values else "" for n in counts]
        lines.append(f"| {'gray photo (floor)' if engine == 'gray' else engine} | " + " | ".join(cells) + " |")
    hinted = [n for n in counts if n]
    lines += ["", "Hint error: the output's a*b* (9x9 mean) from each hint's, mean distance:", "",
              "| engine | " + " | ".join(f"{n} pts" for n in hinted) + " |", "|---|" + "---:|" * len(hinted)]
    for engine, values in curve.items():
        if engine != "gray":
            lines.append(f"| {engine} | " + " | ".join(f"{values[n][1]:.1f}" for n in hinted if n in values) + " |")
    return head + "\n".join(lines) + "\n"
