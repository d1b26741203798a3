"""Evaluation of a colouriser on clips with true colours (``evaluate --video``).

Each clip's own colours are the truth and its gray version the input. Its frames are
colourised in memory (no encoding losses), frame by frame (``none``) and with the flow
smoother (``flow``), and measured beside the gray clip (the floor) and the true clip itself:
per-frame PSNR, SSIM and colourfulness (means over the frames; tfcolor.eval.metrics), and the
temporal measures warp error and CDC (tfcolor.eval.video_metrics).
"""

import numpy as np

from tfcolor.eval import metrics, video_metrics

TEMPORAL_MODES = ("none", "flow")


def read_frames(path, max_frames=0):
    """uint8 RGB frames of a clip's first video stream (at most ``max_frames``; 0: all)."""
    import av

    frames = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == max_frames:
                break
    return frames


def frame_measures(frames, truth, flows, batch=8):
    """{psnr, ssim, colourfulness (means over frames), warp_error, cdc} of ``frames``."""
    psnr, ssim, colour = [], [], []
    for start in range(0, len(frames), batch):
        pred, true = np.stack(frames[start:start + batch]), np.stack(truth[start:start + batch])
        psnr += list(np.asarray(metrics.psnr(pred, true)))
        ssim += list(np.asarray(metrics.ssim(pred, true)))
        colour += list(np.asarray(metrics.colorfulness(pred)))
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "colourfulness": float(np.mean(colour)),
            "warp_error": video_metrics.warp_error(frames, flows), "cdc": video_metrics.cdc(frames)}


def evaluate_clip(truth, colorize, batch_of=None, modes=TEMPORAL_MODES, weight=0.85, batch=8):
    """{row name: measures} for one clip's true frames: "true clip", "gray (floor)" and
    "--temporal=MODE" for each of ``modes``."""
    from tfcolor.deploy import inference
    from tfcolor.deploy.temporal import FlowSmoother

    flows = video_metrics.true_flows(truth)
    gray = [inference.gray_rgb(f).numpy() for f in truth]
    rows = {"true clip": frame_measures(truth, truth, flows, batch), "gray (floor)": frame_measures(gray, truth,
                                                                                                   flows, batch)}
    rows["true clip"]["psnr"] = float("inf")
    predicted = []
    for start in range(0, len(truth), batch):
        chunk = truth[start:start + batch]
        predicted += list(batch_of(np.stack(chunk))) if batch_of else [colorize(f) for f in chunk]
    for mode in modes:
        if mode == "none":
            frames = predicted
        elif mode == "flow":
            smoother = FlowSmoother(weight)
            frames = [smoother(t, p) for t, p in zip(truth, predicted)]
        else:
            raise ValueError(f"unknown temporal mode {mode!r}; known: {', '.join(TEMPORAL_MODES)}")
        rows[f"--temporal={mode}"] = frame_measures(frames, truth, flows, batch)
    return rows


def markdown(results):
    """One table per clip: rows of evaluate_clip."""
    lines = []
    for clip, info in results.items():
        lines += [f"## {clip}", "", f"{info['frames']} frames, {info['width']}x{info['height']}", "",
                  "| | PSNR (dB) | SSIM | colourfulness | warp error (x1e-3) | CDC |", "|---|---:|---:|---:|---:|---:|"]
        for name, m in info["rows"].items():
            psnr = "-" if m["psnr"] == float("inf") else f"{m['psnr']:.2f}"
            lines.append(f"| {name} | {psnr} | {m['ssim']:.4f} | {m['colourfulness']:.2f} | "
                         f"{m['warp_error'] * 1e3:.4f} | {m['cdc']:.5f} |")
        lines.append("")
    return "\n".join(lines)
