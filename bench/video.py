"""Clips colourised with a tfcolor model: per-frame colourisation (--temporal=none) against the
flow smoother (--temporal=flow), measured against the clips' own colours, and the frames/s of
the whole colorize path (decode, network, flow, encode) at 480p and 720p.

    python -m bench.video                              # the shipped model, both clips
    python -m bench.video --model=runs/p2p --max_frames=100

Clips (../shared/PHOTOS.md; fetched with apt-get download here, never in tests): the cockatoo of
Debian's python3-imageio (1280x720, 20 frames/s, a real bird moving) and OpenCV's vtest.avi (a
street with walking people, 768x576). Each is cut to --max_frames, scaled to 480 px high and
stored losslessly (FFV1): that is the truth; the model sees its gray version (only L).
Measures per clip (tfcolor.eval.clips, as ``evaluate --video``): PSNR, SSIM and colourfulness
per frame (means), warp error and CDC, beside the gray clip (the floor) and the true clip.
"""

import argparse
import json
import os
import sys
import time

from bench.common import ROOT


CLIPS = {
    "cockatoo": ("python3-imageio", "usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4"),
    "street": ("opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi"),
}


def log(*args):
    print(*args, flush=True)


def find_clip(name, work):
    import glob

    from bench.sources import unpack

    package, path = CLIPS[name]
    root = unpack(package, work)
    matches = glob.glob(os.path.join(root, path)) or glob.glob(os.path.join(root, "usr", "**", os.path.basename(path)),
                                                              recursive=True)
    if not matches:
        raise FileNotFoundError(f"{os.path.basename(path)} not in {package}")
    return matches[0]


def even(n):
    return n - n % 2


def truth_clip(src, dst, height, max_frames):
    """The first ``max_frames`` frames of ``src`` scaled to ``height`` px high, lossless (FFV1);
    returns the frames (uint8 RGB)."""
    import av
    import cv2

    frames = []
    with av.open(src) as inp:
        stream = inp.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        for frame in inp.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            width = even(round(rgb.shape[1] * height / rgb.shape[0]))
            frames.append(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
            if len(frames) == max_frames:
                break
    with av.open(dst, mode="w") as out:
        stream = out.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "bgr0"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return frames


class Timed:
    """A callable wrapped to add its run time to ``seconds``."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args):
        start = time.perf_counter()
        try:
            return self.fn(*args)
        finally:
            self.seconds += time.perf_counter() - start


def throughput(src, out_dir, colorize, temporal, weight):
    """Frames/s of colorize_video (H.264 out) and the split of its time."""
    import av

    from tfcolor.deploy import video
    from tfcolor.deploy.temporal import FlowSmoother

    start = time.perf_counter()
    with av.open(src) as inp:
        count = sum(1 for _ in inp.decode(video=0))
    decode = time.perf_counter() - start
    single, batch = Timed(colorize), Timed(colorize.batch)
    smoother = Timed(FlowSmoother(weight)) if temporal == "flow" else None
    start = time.perf_counter()
    frames = video.colorize_video(src, os.path.join(out_dir, f"speed_{temporal}.mp4"), single, batch,
                                  smoother=smoother)
    total = time.perf_counter() - start
    network = single.seconds + batch.seconds
    flow = smoother.seconds if smoother else 0.0
    assert frames == count
    return {"frames": frames, "frames_per_second": frames / total, "seconds": total, "decode": decode,
            "network": network, "flow": flow, "encode_and_rest": total - decode - network - flow}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--work_dir", default=os.path.join(ROOT, "runs", "video"))
    parser.add_argument("--model", default="", help="any colorize --model (default: the shipped model)")
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--max_frames", type=int, default=120)
    parser.add_argument("--weight", type=float, default=0.85, help="--temporal_weight")
    parser.add_argument("--speed_heights", default="480,720", help="frames/s measured at these heights ('': none)")
    parser.add_argument("--noquality", dest="quality", action="store_false",
                        help="frames/s only (on an idle machine), no colour measures")
    args = parser.parse_args()
    from tfcolor.core import shipped
    from tfcolor.deploy.colorizer import load_colorizer
    from tfcolor.eval import clips

    work = os.path.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    colorize, description = load_colorizer(args.model or shipped.default_model())
    log(f"model: {description}")
    results = {}
    for name in [c for c in args.clips.split(",") if c]:
        src = find_clip(name, work)
        out_dir = os.path.join(work, name)
        os.makedirs(out_dir, exist_ok=True)
        truth_path = os.path.join(out_dir, "truth480.mkv")
        truth = truth_clip(src, truth_path, 480, args.max_frames)
        rows = clips.evaluate_clip(truth, colorize, colorize.batch, weight=args.weight) if args.quality else {}
        speed = {}
        for height in [int(h) for h in args.speed_heights.split(",") if h]:
            sized = os.path.join(out_dir, f"truth{height}.mkv")
            if height != 480:
                truth_clip(src, sized, height, args.max_frames)
            for temporal in ("none", "flow"):
                speed[f"{height}p {temporal}"] = throughput(sized, out_dir, colorize, temporal, args.weight)
        results[name] = {"frames": len(truth), "width": truth[0].shape[1], "height": truth[0].shape[0],
                         "rows": rows, "speed": speed}
        log(clips.markdown({name: results[name]}))
        for key, s in speed.items():
            log(f"{key}: {s['frames_per_second']:.1f} frames/s (decode {s['decode']:.1f} s, network {s['network']:.1f} s, "
                f"flow {s['flow']:.1f} s, encode and the rest {s['encode_and_rest']:.1f} s, total {s['seconds']:.1f} s)")
    with open(os.path.join(work, "results.json" if args.quality else "speed.json"), "w") as f:
        json.dump(results, f, indent=2)
    log(f"results: {os.path.join(work, 'results.json' if args.quality else 'speed.json')}")


if __name__ == "__main__":
    sys.exit(main())
