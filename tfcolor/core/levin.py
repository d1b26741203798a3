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

OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def affinity_weights(gray):
    """``[8, H, W]``: each pixel's weights of its neighbours at ``OFFSETS`` (0 outside the photo),
    summing to 1. ``gray``: ``[H, W]`` intensities in [0, 1] (Levin's Y; here L / 100), or
    ``[H, W, C]`` features (for experiments: distances and variances summed over C)."""
    gray = np.asarray(gray, np.float64)
    features = gray if gray.ndim == 3 else gray[..., None]
    height, width = features.shape[:2]
    padded = np.pad(features, ((1, 1), (1, 1), (0, 0)), mode="edge")
    valid = np.pad(np.ones((height, width), bool), 1, constant_values=False)
    neigh = np.stack([padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in OFFSETS])
    ok = np.stack([valid[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in OFFSETS])
    # The window's variance, over the valid neighbours and the pixel itself.
    n = ok.sum(0) + 1.0
    inside = ok[..., None]
    mean = (np.where(inside, neigh, 0).sum(0) + features) / n[..., None]
    var = ((np.where(inside, (neigh - mean) ** 2, 0).sum(0) + (features - mean) ** 2) / n[..., None]).sum(-1)
    diff2 = np.where(ok, ((neigh - features) ** 2).sum(-1), np.inf)
    sigma = np.maximum(np.maximum(0.6 * var, -diff2.min(0) / np.log(0.01)), 2e-6)
    weights = np.where(ok, np.exp(-np.where(ok, diff2, 0) / sigma), 0.0)
    return weights / np.maximum(weights.sum(0, keepdims=True), 1e-300)  # (a 1x1 photo: no neighbours)


def affinity_system(gray, mask):
    """The sparse matrix of the system above (scipy CSR, ``H*W`` square; for references and
    experiments: :func:`propagate` solves the system without scipy).

    Args:
      gray: ``[H, W]`` intensities in [0, 1].
      mask: ``[H, W]`` bool, True on hinted pixels (rows of the identity).
    """
    from scipy import sparse

    weights = affinity_weights(gray)
    height, width = weights.shape[1:]
    index = np.arange(height * width).reshape(height, width)
    free = ~np.asarray(mask, bool)
    rows, cols, vals = [index.ravel()], [index.ravel()], [np.ones(height * width)]
    for k, (dy, dx) in enumerate(OFFSETS):
        ys, xs = np.nonzero((weights[k] > 0) & free)
        rows.append(index[ys, xs])
        cols.append(index[ys + dy, xs + dx])
        vals.append(-weights[k][ys, xs])
    n_pixels = height * width
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n_pixels, n_pixels))


def _solve_by_rows(weights, diagonal, rhs):
    """Solves ``diagonal * U - sum_k weights[k] * U[neighbour k] = rhs`` (``weights`` ``[8, H, W]``,
    zero on hinted rows; ``diagonal`` ``[H, W]``; ``rhs`` ``[H, W, C]``) by block elimination down
    the pixel rows: the system is block tridiagonal, a w x w block per row and its neighbours,
    so each row costs one dense solve (LAPACK through numpy: no scipy, whose import alone took
    longer than the solve) with the short side as w."""
    if weights.shape[2] > weights.shape[1]:  # rows along the long side: blocks of the short side
        swapped = [OFFSETS.index((dx, dy)) for dy, dx in OFFSETS]
        return _solve_by_rows(weights[swapped].transpose(0, 2, 1), diagonal.T, rhs.transpose(1, 0, 2)).transpose(1, 0, 2)
    k = {offset: i for i, offset in enumerate(OFFSETS)}
    height, width = diagonal.shape
    channels = rhs.shape[-1]
    across = np.arange(width)

    def tridiagonal(left, centre, right):  # w x w: each pixel's couplings to x-1, x, x+1 of one row
        block = np.zeros((width, width))
        block[across, across] = centre
        block[across[1:], across[:-1]] = left[1:]
        block[across[:-1], across[1:]] = right[:-1]
        return block

    def tridiagonal_times(left, centre, right, dense):  # tridiagonal(left, centre, right) @ dense, in O(w^2)
        out = centre[:, None] * dense
        out[1:] += left[1:, None] * dense[:-1]
        out[:-1] += right[:-1, None] * dense[1:]
        return out

    # Forward: S_y = D_y - L_y X_{y-1}, g_y = b_y - L_y s_{y-1}; [X_y | s_y] = S_y^-1 [U_y | g_y].
    carry, offset = np.empty((height, width, width)), np.empty((height, width, channels))
    for y in range(height):
        block = tridiagonal(-weights[k[0, -1], y], diagonal[y], -weights[k[0, 1], y])
        g = rhs[y].astype(np.float64)
        if y:  # L_y (row y-1) holds -w: subtracting L_y X adds w X
            previous = weights[k[-1, -1], y], weights[k[-1, 0], y], weights[k[-1, 1], y]
            block += tridiagonal_times(*previous, carry[y - 1])
            g += tridiagonal_times(*previous, offset[y - 1])
        following = tridiagonal(-weights[k[1, -1], y], -weights[k[1, 0], y], -weights[k[1, 1], y]) \
            if y < height - 1 else np.zeros((width, width))  # U_y: row y+1
        solved = np.linalg.solve(block, np.concatenate([following, g], 1))
        carry[y], offset[y] = solved[:, :width], solved[:, width:]
    # Backward: U_{h-1} = s_{h-1}; U_y = s_y - X_y U_{y+1}.
    out = np.empty((height, width, channels))
    out[-1] = offset[-1]
    for y in range(height - 2, -1, -1):
        out[y] = offset[y] - carry[y] @ out[y + 1]
    return out


def propagate(gray, hint_ab, mask, prior=None, prior_weight=0.0, weights=None):
    """Levin et al. 2004 from dense hints: ``[H, W, C]`` colours (C = 2 for a*b*, any units).

    Args:
      gray: ``[H, W]`` intensities in [0, 1].
      hint_ab: ``[H, W, C]`` hint colours (read where ``mask`` is set).
      mask: ``[H, W]`` or ``[H, W, 1]``, non-zero on hinted pixels.
      prior, prior_weight: optional ``[H, W, C]`` colours pulled towards on free pixels.
      weights: the affinities (:func:`affinity_weights`); default, those of ``gray``.

    Returns:
      ``[H, W, C]`` float32. Without hints and prior: zeros (no colour to propagate).
    """
    hint_ab = np.asarray(hint_ab, np.float64)
    mask = np.asarray(mask).reshape(hint_ab.shape[:2]) > 0
    use_prior = prior is not None and prior_weight > 0
    if not mask.any() and not use_prior:
        return np.zeros(hint_ab.shape, np.float32)
    free = ~mask
    rhs = np.where(mask[..., None], hint_ab, 0.0)
    diagonal = np.ones(mask.shape)
    if use_prior:
        diagonal += free * prior_weight
        rhs = rhs + (free * prior_weight)[..., None] * np.asarray(prior, np.float64).reshape(hint_ab.shape)
    weights = affinity_weights(gray) if weights is None else weights
    solution = _solve_by_rows(weights * free, diagonal, rhs)
    return solution.astype(np.float32)
