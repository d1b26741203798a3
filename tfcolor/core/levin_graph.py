"""Levin et al. 2004's propagation (tfcolor.core.levin) in TensorFlow ops, for exported models:
a .tflite file solves it in its own graph, on a phone as anywhere, photos of any size.

The same system and the same exact solve as :func:`tfcolor.core.levin.propagate` (float32
here): the block elimination down the pixel rows, a block per row of the short side. TFLite
has no linear solver, so each block's dense solve is a Gauss-Jordan elimination without
pivoting (the blocks are diagonally dominant by rows, which elimination keeps), 16 pivots per
step, in while loops that TFLite runs as WHILE ops, 4 pixel rows per step; the rows' factors are
kept by concatenation (TFLite's converter takes no TensorArray here).
"""

import numpy as np
import tensorflow as tf

from tfcolor.core.levin import OFFSETS

_INDEX = {offset: k for k, offset in enumerate(OFFSETS)}


def affinity_weights(gray):
    """:func:`tfcolor.core.levin.affinity_weights` in TF ops: ``gray`` ``[H, W]`` in [0, 1] ->
    ``[8, H, W]`` weights of each pixel's neighbours at ``OFFSETS`` (0 outside the photo)."""
    gray = tf.convert_to_tensor(gray, tf.float32)
    height, width = tf.shape(gray)[0], tf.shape(gray)[1]
    padded = tf.pad(gray, [[1, 1], [1, 1]], mode="SYMMETRIC")  # (= numpy's "edge" for a 1-px pad)
    valid = tf.pad(tf.ones_like(gray), [[1, 1], [1, 1]])
    neigh = tf.stack([padded[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in OFFSETS])
    ok = tf.stack([valid[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in OFFSETS]) > 0
    n = tf.reduce_sum(tf.cast(ok, tf.float32), 0) + 1.0
    mean = (tf.reduce_sum(tf.where(ok, neigh, 0.0), 0) + gray) / n
    var = (tf.reduce_sum(tf.where(ok, tf.square(neigh - mean), 0.0), 0) + tf.square(gray - mean)) / n
    diff2 = tf.where(ok, tf.square(neigh - gray), 0.0)
    nearest = tf.reduce_min(tf.where(ok, diff2, np.inf), 0)
    sigma = tf.maximum(tf.maximum(0.6 * var, -nearest / float(np.log(0.01))), 2e-6)
    weights = tf.where(ok, tf.exp(-diff2 / sigma), 0.0)
    return weights / tf.maximum(tf.reduce_sum(weights, 0, keepdims=True), 1e-30)


def _tridiagonal(bands, left, centre, right):
    """n x n: ``centre`` on the diagonal, ``left[x]`` at (x, x-1), ``right[x]`` at (x, x+1)
    (``left[0]`` and ``right[-1]`` unused); the vectors are columns ``[n, 1]``, ``bands`` the
    masks of the three diagonals (:func:`_bands`). Products with 0 and 1 and sums with 0: the
    matrix of diagonals and pads, exactly, in 5 ops where those took 27 (a slice or a diagonal
    in a graph is an op and 3-4 constants: tracing and converting the solve's loop body)."""
    below, diagonal, above = bands
    return centre * diagonal + left * below + right * above


def _bands(n):
    """The masks ``[n, n]`` of the sub-, main and super-diagonal (n a tensor)."""
    index = tf.range(n)
    offset = tf.expand_dims(index, 0) - tf.expand_dims(index, 1)  # column - row (x[None]: no TFLite op here)
    return [tf.cast(tf.equal(offset, k), tf.float32) for k in (-1, 0, 1)]


BLOCK = 16  # pivots per elimination step: a rank-16 update is one matrix product
ROWS = 4  # pixel rows per step of the elimination's loop


def _inverse(d):
    """The inverse of a small ``[P, P]`` matrix (P static), Gauss-Jordan steps unrolled. Rows
    and columns are picked and spread by products with one-hot vectors (exact): no slice, whose
    begin, end and strides are constants of the graph, and 7 ops a pivot where slicing took 27."""
    size = d.shape[0]
    eye = tf.constant(np.eye(size, dtype=np.float32))  # (one constant: tf.eye is several ops)
    m = tf.concat([d, eye], 1)
    rows = tf.split(eye, size, axis=0)  # [1, P]: picks row k of m
    units = tf.split(eye, size, axis=1)  # [P, 1]: the unit column k
    columns = tf.split(tf.constant(np.eye(2 * size, size, dtype=np.float32)), size, axis=1)  # [2P, 1]: column k of m
    for k in range(size):
        row = tf.matmul(rows[k], m)
        row = row / tf.matmul(row, columns[k])
        column = tf.matmul(m, columns[k]) - units[k]  # row k becomes ``row`` itself
        m = m - tf.matmul(column, row)
    return m[:, size:]


def _gauss_jordan(augmented, n):
    """``[n, n + k]`` = [A | B] -> A^-1 B ``[n, k]``, without pivoting, :data:`BLOCK` pivots at a
    time (``n`` a multiple of it): the block's rows become D^-1 times themselves and the other
    rows lose their share of them, one matrix product, where a pivot at a time was a memory pass
    per pivot (the whole solve 1.6-1.8x slower in LiteRT)."""
    def step(k, m):
        rows = tf.slice(m, [k, 0], [BLOCK, -1])
        pivot_rows = _inverse(tf.slice(rows, [0, k], [BLOCK, BLOCK])) @ rows
        # The block's own rows end as ``pivot_rows``: their share is taken less the identity.
        share = tf.slice(m, [0, k], [-1, BLOCK]) - tf.transpose(tf.one_hot(tf.range(k, k + BLOCK), n))
        return k + BLOCK, m - share @ pivot_rows

    _, solved = tf.while_loop(lambda k, m: k < n, step, (tf.constant(0), augmented))
    return solved[:, n:]


def _solve_by_rows(weights, diagonal, rhs):
    """Solves ``diagonal * U - sum_k weights[k] * U[neighbour k] = rhs`` (``weights``
    ``[8, H, W]``, zero on hinted rows; ``diagonal`` ``[H, W]``; ``rhs`` ``[H, W, C]``, C static)
    as core.levin._solve_by_rows does, blocks of W."""
    height, unpadded = tf.shape(rhs)[0], tf.shape(rhs)[1]
    channels = rhs.shape[-1]
    # Blocks of a multiple of BLOCK pixels: the added pixels are rows of the identity, with no
    # link to the photo's (its last column's weights to the right are zero) and a zero solution.
    width = (unpadded + BLOCK - 1) // BLOCK * BLOCK
    # And a multiple of ROWS rows (rows of the identity too, below the photo's last).
    padded_height = (height + ROWS - 1) // ROWS * ROWS
    weights = tf.pad(weights, [[0, 0], [0, padded_height - height], [0, width - unpadded]])
    diagonal = tf.pad(diagonal, [[0, padded_height - height], [0, width - unpadded]], constant_values=1.0)
    rhs = tf.pad(rhs, [[0, padded_height - height], [0, width - unpadded], [0, 0]])

    bands = _bands(width)
    weights, diagonal = tf.expand_dims(weights, -1), tf.expand_dims(diagonal, -1)  # a row's vectors: [W, 1]

    def eliminate(y, carry, offset):
        w = tf.unstack(weights[:, y])
        previous = _tridiagonal(bands, w[_INDEX[-1, -1]], w[_INDEX[-1, 0]], w[_INDEX[-1, 1]])  # zero on row 0
        block = _tridiagonal(bands, -w[_INDEX[0, -1]], diagonal[y], -w[_INDEX[0, 1]]) + previous @ carry
        following = _tridiagonal(bands, -w[_INDEX[1, -1]], -w[_INDEX[1, 0]], -w[_INDEX[1, 1]])  # zero on the last
        solved = _gauss_jordan(tf.concat([block, following, rhs[y] + previous @ offset], 1), width)
        return solved[:, :width], tf.reshape(solved[:, width:], [width, channels])

    def forward(y, carry, offset, carries, offsets):
        # ROWS rows a step: a row a step, carrying the list of factors through the loop took
        # over half of the solve's time in LiteRT (a preallocated buffer as much: the loop's
        # variables are copied at each step); 4 rows: 1.4x faster, 8 no better, a larger graph.
        new_carries, new_offsets = [], []
        for r in range(ROWS):
            carry, offset = eliminate(y + r, carry, offset)
            new_carries.append(carry)
            new_offsets.append(offset)
        return (y + ROWS, carry, offset, tf.concat([carries, tf.stack(new_carries)], 0),
                tf.concat([offsets, tf.stack(new_offsets)], 0))

    any_ = tf.TensorShape([None, None])
    _, _, _, carries, offsets = tf.while_loop(
        lambda y, *_: y < padded_height, forward,
        (tf.constant(0), tf.zeros([width, width]), tf.zeros([width, channels]), tf.zeros([0, width, width]),
         tf.zeros([0, width, channels])),
        shape_invariants=(tf.TensorShape([]), any_, tf.TensorShape([None, channels]),
                          tf.TensorShape([None, None, None]), tf.TensorShape([None, None, channels])))

    def backward(y, following, out):
        row = offsets[y] - carries[y] @ following
        return y - 1, row, tf.concat([row[None], out], 0)

    last = offsets[height - 1]
    _, _, out = tf.while_loop(lambda y, *_: y >= 0, backward, (height - 2, last, last[None]),
                              shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, channels]),
                                                tf.TensorShape([None, None, channels])))
    return out[:height, :unpadded]


def propagate(gray, hint_ab, mask, prior=None, prior_weight=0.0):
    """:func:`tfcolor.core.levin.propagate` in TF ops: ``gray`` ``[H, W]``, ``hint_ab``
    ``[H, W, C]`` (C static), ``mask`` ``[H, W, 1]`` (non-zero on hinted pixels), optionally
    ``prior`` ``[H, W, C]`` pulled towards on free pixels with ``prior_weight`` (a scalar, a
    tensor too: 0 is the plain system) -> ``[H, W, C]``. The caller makes sure there is a hint
    (without one the plain system has no colour to spread)."""
    gray = tf.convert_to_tensor(gray, tf.float32)
    wide = tf.shape(gray)[1] > tf.shape(gray)[0]

    def oriented(x):  # blocks along the short side: a wide photo is solved transposed
        perm = [1, 0] + list(range(2, len(x.shape)))
        return tf.cond(wide, lambda: tf.transpose(x, perm), lambda: tf.identity(x))

    gray, hint_ab, mask = oriented(gray), oriented(tf.cast(hint_ab, tf.float32)), oriented(tf.cast(mask, tf.float32))
    # (expand_dims, not x[None]: after the tf.cond the converter's STRIDED_SLICE takes no new axis)
    free = tf.cast(mask[:, :, 0] <= 0, tf.float32)
    hinted = 1.0 - tf.expand_dims(free, -1)
    weights = affinity_weights(gray) * tf.expand_dims(free, 0)
    # Solved for the difference from the hints' mean colour: a free row's weights sum to 1, so
    # the system is the same, and float32's cancellation in weakly linked regions (a pivot of
    # 1 - 0.9999) scales with the hints' spread, not with their colours (one hint: exact).
    centre = tf.reduce_sum(hint_ab * hinted, [0, 1]) / tf.maximum(tf.reduce_sum(hinted), 1.0)
    rhs = (hint_ab - centre) * hinted
    pull = tf.zeros_like(free)
    if prior is not None:  # (1 + mu) U - W U = mu prior: less the centre, mu (prior - centre)
        pull = tf.cast(prior_weight, tf.float32) * free
        rhs += tf.expand_dims(pull, -1) * (oriented(tf.cast(prior, tf.float32)) - centre)
    spread = _solve_by_rows(weights, 1.0 + pull, rhs)
    return oriented(spread + centre)
