"""Hints on films: a point placed on one frame (``"frame": N`` in the hint JSON) follows the
optical flow through the rest of its shot, so one click colours an object for the whole shot.

Each frame, every live point moves by the flow from the previous frame to this one, measured
on the gray frames at a working size (OpenCV's DIS, tfcolor.core.flow); it ends at the next
scene cut (L histograms) or where it leaves the frame. A point given for frame N starts there
at the given position (earlier frames of the shot do not see it: the clip is read once, in
order).
"""

import dataclasses

import numpy as np

from tfcolor.core import flow
from tfcolor.deploy.hinting import working_size


class HintTracker:
    """Call with each frame (uint8 RGB [H, W, 3]) in clip order; returns the frame's points
    (tfcolor.core.hints.Point, in the frame's pixels)."""

    def __init__(self, hints, work_side=320, cut_threshold=0.4):
        self.hints, self.work_side, self.cut_threshold = hints, work_side, cut_threshold
        self.frame = -1
        self.live = []
        self._gray = self._hist = None
        self._dis = None

    def _gray_at(self, rgb):
        import cv2

        height, width = rgb.shape[:2]
        h, w = working_size(height, width, self.work_side)
        gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        return cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA), w / width, h / height

    def __call__(self, rgb):
        self.frame += 1
        height, width = rgb.shape[:2]
        gray, sx, sy = self._gray_at(rgb)
        hist = flow.histogram(gray)
        if self.live and self._gray is not None:
            if self._gray.shape != gray.shape or flow.is_cut(self._hist, hist, self.cut_threshold):
                self.live = []
            else:
                self._dis = self._dis or flow.make_dis(fast=False)
                forward = flow.backward_flow(self._gray, gray, self._dis)  # previous(x) ~ current(x + G(x))
                moved = []
                for p in self.live:
                    gx = int(np.clip(round(p.x * sx - 0.5), 0, gray.shape[1] - 1))
                    gy = int(np.clip(round(p.y * sy - 0.5), 0, gray.shape[0] - 1))
                    dx, dy = forward[gy, gx]
                    x, y = p.x + float(dx) / sx, p.y + float(dy) / sy
                    if 0 <= x <= width and 0 <= y <= height:
                        moved.append(dataclasses.replace(p, x=x, y=y))
                self.live = moved
        self.live = self.live + list(self.hints.at_frame(self.frame))
        self._gray, self._hist = gray, hist
        return tuple(self.live)
