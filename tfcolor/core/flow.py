"""Optical flow between frames (OpenCV's DIS, no downloaded weights) and what is built on it:
backward warping, the forward-backward occlusion check and an L-histogram scene-cut test.

Conventions: ``backward_flow(current, previous)`` is F with ``current(x) ~ previous(x + F(x))``,
so ``warp(previous_image, F)`` brings the previous frame onto the current one. Frames are
uint8 gray [H, W] (the flow) and any float or uint8 image [H, W] or [H, W, C] (what is warped).
"""

import functools

import numpy as np


def make_dis(fast=False):
    """An OpenCV DIS flow estimator: MEDIUM (measures), or FAST (the smoother, every frame)."""
    import cv2

    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST if fast else cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


@functools.lru_cache(maxsize=8)
def _grid(height, width):
    """Pixel coordinates (x, y), float32 [H, W] each: built once per frame size."""
    return np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))


def backward_flow(current, previous, dis=None):
    """F [H, W, 2] (x, y) with ``current(x) ~ previous(x + F(x))``."""
    return (dis or make_dis()).calc(current, previous, None)


def warp(image, flow):
    """``image`` sampled at x + flow(x) (bilinear; outside the frame: the nearest edge)."""
    import cv2

    grid_x, grid_y = _grid(*flow.shape[:2])
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def reliable(flow_back, flow_fwd, slack=0.5):
    """Boolean [H, W]: where going back then forward lands on the start (Sundaram et al. 2010:
    |F + G(x + F)|^2 < 0.01 (|F|^2 + |G(x + F)|^2) + slack); False at occlusions and where the
    flow leaves the frame."""
    height, width = flow_back.shape[:2]
    fwd_at = warp(flow_fwd, flow_back)
    error = np.sum((flow_back + fwd_at) ** 2, axis=-1)
    bound = 0.01 * (np.sum(flow_back ** 2, axis=-1) + np.sum(fwd_at ** 2, axis=-1)) + slack
    grid_x, grid_y = _grid(height, width)
    x, y = grid_x + flow_back[..., 0], grid_y + flow_back[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return (error < bound) & inside


def histogram(gray, bins=64):
    """Normalised histogram of a uint8 gray frame."""
    counts = np.bincount((gray.reshape(-1).astype(np.int32) * bins) // 256, minlength=bins)
    return counts / max(counts.sum(), 1)


def is_cut(previous_hist, current_hist, threshold=0.4):
    """A scene cut: half the L1 distance of the two histograms (their total variation, 0..1)
    above ``threshold``."""
    return 0.5 * float(np.abs(previous_hist - current_hist).sum()) > threshold
