"""Colourisation by optimisation (Levin, Lischinski and Weiss 2004): hints propagated along the
gray photo's own edges by one sparse least-squares solve.

Every pixel r without a hint takes the weighted mean of its 3x3 neighbours s, with weights
``w_rs ~ exp(-(Y_r - Y_s)^2 / (2 sigma_r^2))`` normalised to sum 1: neighbours of similar
intensity share a colour, an edge stops it. Hint pixels keep their colour. That is the linear
system ``(I - W) U = 0`` on free pixels, ``U = hint`` on hinted ones, solved once per channel
(a* and b*) with the same matrix. ``sigma_r^2`` follows the authors' code (getColorExact.m):
0.6 times the window's variance, at least ``-min_s (Y_s - Y_r)^2 / log 0.01`` and 2e-6.

``prior`` adds a pull of weight ``prior_weight`` towards other colours (a network's guess) on the
free pixels: ``(I - W) U + mu (U - prior) = 0``. Near a hint its colour wins, far from every hint
the prior does, and between them the difference decays with the photo's affinities.
"""

import numpy as np

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def affinity_system(gray, mask):
    """The sparse matrix of the system above (scipy CSR, ``H*W`` square).

    Args:
      gray: ``[H, W]`` intensities in [0, 1] (Levin's Y; here L / 100).
      mask: ``[H, W]`` bool, True on hinted pixels (rows of the identity).
    """
    from scipy import sparse

    gray = np.asarray(gray, np.float64)
    height, width = gray.shape
    index = np.arange(height * width).reshape(height, width)
    padded = np.pad(gray, 1, mode="edge")
    valid = np.pad(np.ones_like(gray, bool), 1, constant_values=False)
    neigh = np.stack([padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in _OFFSETS])
    ok = np.stack([valid[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in _OFFSETS])
    # The window's variance, over the valid neighbours and the pixel itself.
    n = ok.sum(0) + 1.0
    mean = (np.where(ok, neigh, 0).sum(0) + gray) / n
    var = (np.where(ok, (neigh - mean) ** 2, 0).sum(0) + (gray - mean) ** 2) / n
    diff2 = np.where(ok, (neigh - gray) ** 2, np.inf)
    sigma = np.maximum(np.maximum(0.6 * var, -diff2.min(0) / np.log(0.01)), 2e-6)
    weights = np.where(ok, np.exp(-np.where(ok, diff2, 0) / sigma), 0.0)
    weights /= weights.sum(0, keepdims=True)
    free = ~np.asarray(mask, bool)
    rows, cols, vals = [index.ravel()], [index.ravel()], [np.ones(height * width)]
    for k, (dy, dx) in enumerate(_OFFSETS):
        keep = ok[k] & free
        ys, xs = np.nonzero(keep)
        rows.append(index[ys, xs])
        cols.append(index[ys + dy, xs + dx])
        vals.append(-weights[k][ys, xs])
    n_pixels = height * width
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n_pixels, n_pixels))


def propagate(gray, hint_ab, mask, prior=None, prior_weight=0.0):
    """Levin et al. 2004 from dense hints: ``[H, W, C]`` colours (C = 2 for a*b*, any units).

    Args:
      gray: ``[H, W]`` intensities in [0, 1].
      hint_ab: ``[H, W, C]`` hint colours (read where ``mask`` is set).
      mask: ``[H, W]`` or ``[H, W, 1]``, non-zero on hinted pixels.
      prior, prior_weight: optional ``[H, W, C]`` colours pulled towards on free pixels.

    Returns:
      ``[H, W, C]`` float32. Without hints and prior: zeros (no colour to propagate).
    """
    from scipy import sparse
    from scipy.sparse.linalg import splu

    hint_ab = np.asarray(hint_ab, np.float64)
    mask = np.asarray(mask).reshape(hint_ab.shape[:2]) > 0
    channels = hint_ab.shape[-1]
    use_prior = prior is not None and prior_weight > 0
    if not mask.any() and not use_prior:
        return np.zeros(hint_ab.shape, np.float32)
    system = affinity_system(gray, mask)
    rhs = np.where(mask[..., None], hint_ab, 0.0).reshape(-1, channels)
    if use_prior:
        free = (~mask).ravel().astype(np.float64) * prior_weight
        system = system + sparse.diags(free)
        rhs = rhs + free[:, None] * np.asarray(prior, np.float64).reshape(-1, channels)
    solution = splu(system.tocsc()).solve(rhs)
    return solution.reshape(hint_ab.shape).astype(np.float32)
