"""The ab colour grid of Zhang et al. 2016: 10-unit cells over a and b in [-110, 110).

One grid serves the colour prior (tfcolor.gans.rebalance), the rebalanced losses and the colour
classes of ``--ab_output=classes`` (tfcolor.models.classes): cell ``(i, j)`` holds
``a in [(i - 11) * 10, (i - 10) * 10)`` and ``b`` likewise, its centre at
``((i - 11) * 10 + 5, (j - 11) * 10 + 5)``. The colour classes are the cells that hold an sRGB
colour at some lightness (``gamut_centres``).
"""

import numpy as np

GRID = 10.0  # ab units per cell
BINS = 22  # cells per axis: [-110, 110) in a and b, the sRGB gamut


def cell_index(ab, grid=GRID, bins=BINS):
    """``[..., 2]`` (row, column) cell of ab values in natural units; outside the grid: the edge
    cell."""
    return np.clip(np.floor(np.asarray(ab) / grid).astype(np.int64) + bins // 2, 0, bins - 1)


def cell_centres(grid=GRID, bins=BINS):
    """``[bins * bins, 2]`` centres (a, b) in natural units, row-major over (a cell, b cell)."""
    axis = (np.arange(bins) - bins // 2) * grid + grid / 2
    a, b = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=-1)


def gamut_centres(tolerance=0.5, lightness=np.arange(1.0, 100.0, 1.0), offsets=(-4.5, -1.5, 1.5, 4.5)):
    """Centres (a, b) of the cells that hold sRGB colours: some point of the cell (its centre
    plus ``offsets`` in a and b) at some L survives a round trip through sRGB within
    ``tolerance``. ``[Q, 2]`` float32 in natural units (Q = 266 with the defaults; Zhang et al.
    kept the 313 cells that ImageNet's pixels fall in)."""
    import tensorflow as tf

    from tfcolor.core import color

    centres = cell_centres()
    shifts = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2)
    points = centres[:, None] + shifts[None]  # [cells, points, 2]
    lab = np.concatenate([np.broadcast_to(lightness[:, None, None, None], (len(lightness),) + points.shape[:2] + (1,)),
                          np.broadcast_to(points[None], (len(lightness),) + points.shape)], axis=-1)
    back = color.rgb_to_lab(color.lab_to_rgb(tf.constant(lab, tf.float32))).numpy()
    inside = (np.abs(back - lab).max(axis=-1) < tolerance).any(axis=(0, 2))
    return centres[inside].astype(np.float32)
