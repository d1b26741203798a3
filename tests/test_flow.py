"""Optical flow, warping and the occlusion check (tfcolor.core.flow), the temporal measures
(tfcolor.eval.video_metrics) and the flow smoother (tfcolor.deploy.temporal), on pans of real
photos whose motion is known."""

import cv2
import numpy as np
import pytest
import skimage.color

from tests.conftest import photo
from tfcolor.core import flow
from tfcolor.deploy.temporal import FlowSmoother
from tfcolor.eval import video_metrics


def pan(count, step, height=96, width=128, name="astronaut"):
    """``count`` RGB frames of a camera panning left: content moves ``step`` px right per frame."""
    picture = photo(name)[50:50 + height, 200:200 + width + step * count]
    return [np.ascontiguousarray(picture[:, step * (count - i):step * (count - i) + width]) for i in range(count)]


def gray(rgb):
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def test_flow_of_a_pan_warps_the_previous_frame_onto_the_current():
    previous, current = pan(2, 3)
    back = flow.backward_flow(gray(current), gray(previous))
    inner = back[8:-8, 8:-8]
    assert np.allclose(np.median(inner[..., 0]), -3.0, atol=0.25) and abs(np.median(inner[..., 1])) < 0.25
    warped = flow.warp(previous.astype(np.float32), back)
    assert np.abs(warped[8:-8, 8:-8] - current[8:-8, 8:-8]).mean() < 4.0
    mask = flow.reliable(back, flow.backward_flow(gray(previous), gray(current)))
    assert mask[8:-8, 8:-8].mean() > 0.9
    assert not mask[:, :2].any()  # x - 3 falls outside the previous frame


def test_warp_by_a_constant_flow_is_a_shift():
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    shifted = flow.warp(image, np.full((20, 30, 2), (2.0, 1.0), np.float32))
    assert np.array_equal(shifted[:-1, :-2], image[1:, 2:])


def test_scene_cuts_from_histograms():
    a, b = gray(photo("astronaut")), gray(photo("coffee"))
    assert flow.histogram(a).sum() == pytest.approx(1.0)
    assert not flow.is_cut(flow.histogram(a), flow.histogram(a[:, 5:]))
    assert flow.is_cut(flow.histogram(a), flow.histogram(np.full_like(a, 250)))
    assert 0.5 * np.abs(flow.histogram(a) - flow.histogram(b)).sum() > 0.1


def test_js_divergence_by_hand():
    assert video_metrics.js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(np.log(2))
    p, q = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    m = np.array([0.75, 0.25])
    by_hand = 0.5 * (0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25)) + 0.5 * np.log(1.0 / 0.75)
    assert video_metrics.js_divergence(p, q) == pytest.approx(by_hand) and m.sum() == 1.0


def test_a_static_clip_has_zero_warp_error_and_zero_cdc():
    frames = [photo("coffee")[:96, :128]] * 5
    flows = video_metrics.true_flows(frames)
    assert video_metrics.warp_error(frames, flows) == 0.0
    assert video_metrics.cdc(frames) == 0.0


def test_flicker_raises_both_measures_above_the_true_clip():
    truth = pan(9, 2)
    flows = video_metrics.true_flows(truth)
    tints = [np.clip(f.astype(int) + (30 if i % 2 else -30) * np.array([1, 0, -1]), 0, 255).astype(np.uint8)
             for i, f in enumerate(truth)]
    assert video_metrics.warp_error(tints, flows) > 10 * video_metrics.warp_error(truth, flows)
    assert video_metrics.cdc(tints) > 2 * video_metrics.cdc(truth)


def _with_ab(rgb, ab):
    lab = skimage.color.rgb2lab(rgb)
    lab[..., 1:] = ab
    return np.round(skimage.color.lab2rgb(lab) * 255).astype(np.uint8)


def test_the_smoother_is_the_hand_computed_average_on_a_static_clip():
    """Flow 0 everywhere: ab_t = w ab_{t-1} + (1 - w) predicted_t, L the input's."""
    frame = np.full((40, 60, 3), 128, np.uint8)  # mid gray: every blend stays in gamut
    predictions = [_with_ab(frame, ab) for ab in ((20.0, 10.0), (-20.0, -10.0), (20.0, 10.0))]
    smoother = FlowSmoother(weight=0.5, work_side=64)
    expected = np.array([20.0, 10.0])
    for t, prediction in enumerate(predictions):
        out = smoother(frame, prediction)
        predicted = skimage.color.rgb2lab(prediction)[..., 1:].mean(axis=(0, 1))
        expected = predicted if t == 0 else 0.5 * expected + 0.5 * predicted
        lab = skimage.color.rgb2lab(out)
        assert np.abs(lab[..., 1:].mean(axis=(0, 1)) - expected).max() < 0.6, t
        assert np.abs(lab[..., 0] - skimage.color.rgb2lab(frame)[..., 0]).max() < 0.6
    assert smoother.cuts == 0


def test_the_smoother_restarts_at_a_cut_and_follows_motion():
    smoother = FlowSmoother(weight=0.8, work_side=128)
    frames = pan(4, 2)
    colours = [_with_ab(f, (25.0, 0.0)) for f in frames]
    for f, c in zip(frames, colours):
        out = smoother(f, c)
    # Moving content, the same colour predicted in every frame: it stays that colour.
    assert np.abs(skimage.color.rgb2lab(out)[8:-8, 8:-8, 1] - skimage.color.rgb2lab(colours[-1])[8:-8, 8:-8, 1]).mean() < 2.0
    other = np.ascontiguousarray(photo("coffee")[:96, :128])
    blue = _with_ab(other, (0.0, -30.0))
    out = smoother(other, blue)
    assert smoother.cuts == 1
    assert np.array_equal(out, FlowSmoother(weight=0.8, work_side=128)(other, blue))  # as a first frame
