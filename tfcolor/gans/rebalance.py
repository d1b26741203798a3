"""Colour rebalancing weights from the training set's ab histogram (Zhang et al. 2016, sec. 2.2).

Most pixels of natural photos are grayish, brown or sky blue; a loss averaged over pixels is
won by predicting those, which is where sepia output comes from. Zhang et al. weight each pixel
by the rarity of its true colour:

    p       = ab histogram of the training pixels on a grid of 10-unit bins
    p_tilde = p smoothed with a Gaussian (sigma = 5 ab units)
    w       ~ ((1 - lambda) * p_tilde + lambda / Q) ** -1,   Q = bins seen in the data
    w      /= sum(p_tilde * w)          (so the expected weight under p_tilde is 1)

with lambda = 0.5. Here the weights multiply the L1 term
(:func:`tfcolor.gans.losses.rebalanced_l1_loss`) or, as in the paper, the cross-entropy over colour
classes (:func:`tfcolor.gans.losses.class_cross_entropy`). The grid: tfcolor.core.ab_bins. Pure numpy.
"""

import numpy as np

from tfcolor.core.ab_bins import BINS, GRID, cell_index

SIGMA = 5.0  # ab units
LAMBDA = 0.5


def histogram(ab, grid=GRID, bins=BINS):
    """Counts of ab values (natural units, ``[..., 2]``) per ``bins x bins`` grid cell; values
    outside the grid go to the edge cells."""
    index = cell_index(np.asarray(ab, np.float64).reshape(-1, 2), grid, bins)
    counts = np.zeros((bins, bins), np.float64)
    np.add.at(counts, (index[:, 0], index[:, 1]), 1.0)
    return counts


def _gaussian_smooth(p, sigma_bins):
    """Separable Gaussian blur (truncated at 3 sigma, zero outside the grid)."""
    if sigma_bins <= 0:
        return p
    radius = max(1, int(np.ceil(3 * sigma_bins)))
    x = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (x / sigma_bins) ** 2)
    taps /= taps.sum()
    p = np.apply_along_axis(lambda v: np.convolve(v, taps, mode="same"), 0, p)
    return np.apply_along_axis(lambda v: np.convolve(v, taps, mode="same"), 1, p)


def _smoothed_prior(counts, sigma, grid):
    """p_tilde: the histogram as probabilities, Gaussian-smoothed, summing to 1."""
    counts = np.asarray(counts, np.float64)
    if counts.sum() <= 0:
        raise ValueError("empty ab histogram: no pixels to estimate the colour prior from")
    smoothed = _gaussian_smooth(counts / counts.sum(), sigma / grid)
    return smoothed / smoothed.sum()


def weights(counts, lam=LAMBDA, sigma=SIGMA, grid=GRID):
    """Per-bin weights ``[bins, bins]`` from histogram counts (see the module docstring).
    Bins never seen get the weight of a seen bin of zero probability."""
    counts = np.asarray(counts, np.float64)
    smoothed = _smoothed_prior(counts, sigma, grid)
    q = max(int((counts > 0).sum()), 1)
    w = 1.0 / ((1.0 - lam) * smoothed + lam / q)
    w /= (smoothed * w).sum()
    return w.astype(np.float32)


def class_prior(counts, centres, sigma=SIGMA, grid=GRID, floor=1e-6):
    """The smoothed colour prior over the colour classes (``centres``: ``[Q, 2]`` natural units
    of cells of this grid): ``[Q]`` probabilities summing to 1, none below ``floor`` before
    normalising. A class head whose bias is its log starts from the training set's colours."""
    smoothed = _smoothed_prior(counts, sigma, grid)
    index = cell_index(np.asarray(centres, np.float64), grid, smoothed.shape[0])
    p = np.maximum(smoothed[index[:, 0], index[:, 1]], floor)
    return (p / p.sum()).astype(np.float32)
