"""Temporal measures of colourised clips, as the video-colourisation literature reports them.

* ``warp_error`` (Lai et al. 2018, "Learning Blind Video Temporal Consistency"): the mean over
  frames t >= 1 of the squared difference, over the pixels the flow of the *true* clip tracks
  reliably, between output frame t and output frame t-1 warped onto it by that flow; RGB in
  [0, 1]. A clip that is consistent along the true motion scores 0; flicker raises it.
* ``cdc`` (colour distribution consistency, as in TCVC, Liu et al. 2021): the Jensen-Shannon
  divergence (natural log, so at most ln 2) between the colour histograms of frames t and t+k,
  averaged over the three RGB channels (256 bins each) and over t, then over k = 1, 2, 4.

The true clip's own values are the floor: its motion is real, not flicker.
"""

import numpy as np

from tfcolor.core import flow

CDC_STEPS = (1, 2, 4)


def true_flows(true_frames):
    """[(backward flow F_t, reliable mask M_t)] for t >= 1, computed on the true clip's luma."""
    import cv2

    grays = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in true_frames]
    dis = flow.make_dis()
    flows = []
    for previous, current in zip(grays[:-1], grays[1:]):
        back = flow.backward_flow(current, previous, dis)
        flows.append((back, flow.reliable(back, flow.backward_flow(previous, current, dis))))
    return flows


def warp_error(frames, flows):
    """Mean masked squared difference between frame t and frame t-1 warped by ``flows[t-1]``."""
    errors = []
    for (back, mask), previous, current in zip(flows, frames[:-1], frames[1:]):
        warped = flow.warp(previous.astype(np.float32) / 255.0, back)
        squared = np.sum((current.astype(np.float32) / 255.0 - warped) ** 2, axis=-1) / 3.0
        errors.append(float(squared[mask].mean()) if mask.any() else 0.0)
    return float(np.mean(errors)) if errors else 0.0


def _histograms(frame):
    return [np.bincount(frame[..., c].reshape(-1), minlength=256) / frame[..., c].size for c in range(3)]


def js_divergence(p, q):
    """Jensen-Shannon divergence (natural log) of two distributions."""
    m = 0.5 * (p + q)

    def kl(a):
        nonzero = a > 0
        return float(np.sum(a[nonzero] * np.log(a[nonzero] / m[nonzero])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def cdc(frames, steps=CDC_STEPS):
    """Colour distribution consistency: mean over ``steps`` of the mean JS divergence of
    frames t and t+k (RGB channels averaged); steps longer than the clip are left out."""
    hists = [_histograms(np.asarray(f, np.uint8)) for f in frames]
    per_step = []
    for k in steps:
        pairs = [np.mean([js_divergence(a[c], b[c]) for c in range(3)]) for a, b in zip(hists[:-k], hists[k:])]
        if pairs:
            per_step.append(float(np.mean(pairs)))
    return float(np.mean(per_step)) if per_step else 0.0
