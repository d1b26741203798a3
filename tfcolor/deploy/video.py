"""Colourise video clips: frames decoded and encoded with PyAV (its wheels carry FFmpeg), the
sound copied as it is.

``colorize_video(src, dst, colorize)`` reads every frame of the first video stream, colourises
them in batches with any colouriser of ``load_colorizer`` (each frame keeps its own
full-resolution L), encodes them at the input's size, frame rate, timestamps and display rotation, and copies the
audio streams packet by packet (not re-encoded). Memory holds one batch of frames whatever the
clip's length. The output is written to ``NAME.partial.EXT`` and renamed when complete; Ctrl-C
closes it as a playable partial file; a clip FFmpeg cannot read raises VideoError with one line.
"""

import dataclasses
import os

import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ogv", ".mpg", ".mpeg", ".wmv", ".flv",
                    ".ts")
# Audio codecs the MP4 muxer takes; a clip whose sound is in another goes into Matroska.
MP4_AUDIO = {"aac", "mp3", "ac3", "eac3", "opus", "alac", "flac"}
# Per output container: (video codec, pixel format, codec options).
H264 = ("libx264", "yuv420p", {"crf": "18", "preset": "veryfast"})
ENCODERS = {".mp4": H264, ".mkv": H264, ".mov": H264, ".webm": ("libvpx-vp9", "yuv420p", {"crf": "30", "b": "0"})}
LOSSLESS = ("ffv1", "bgr0", {})  # exact RGB frames (Matroska): --video_codec=ffv1


class VideoError(Exception):
    """A clip that cannot be read or written, with a one-line reason."""


@dataclasses.dataclass
class VideoInfo:
    width: int
    height: int
    frames: int  # as the container declares it, else estimated from its duration (0: unknown)
    rate: object  # fractions.Fraction frames per second
    audio_streams: int


def is_video(path):
    return path.lower().endswith(VIDEO_EXTENSIONS)


def output_path(src, output_dir, audio_codecs=()):
    """Where the colourised clip of ``src`` goes: OUTPUT_DIR/STEM.mp4 (STEM.mkv or .webm for
    Matroska/WebM inputs, and .mkv when the sound is in a codec MP4 does not hold)."""
    stem, ext = os.path.splitext(os.path.basename(src))
    ext = ext.lower() if ext.lower() in (".mkv", ".webm") else ".mp4"
    if ext == ".mp4" and any(codec not in MP4_AUDIO for codec in audio_codecs):
        ext = ".mkv"
    return os.path.join(output_dir, stem + ext)


def _open(src):
    import av

    try:
        container = av.open(src)
    except (av.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{src}: not a clip FFmpeg can read ({type(e).__name__}: {str(e)[:200]})") from e
    if not container.streams.video:
        container.close()
        raise VideoError(f"{src}: no video stream")
    return container


def _rate(stream):
    """Frames per second of a video stream (a Fraction), from what the container knows best."""
    return stream.average_rate or stream.guessed_rate or stream.base_rate


def probe(src):
    """VideoInfo of a clip's first video stream; audio codec names as a list."""
    container = _open(src)
    try:
        stream = container.streams.video[0]
        rate = _rate(stream)
        frames = stream.frames
        if not frames and container.duration and rate:  # Ogg, some AVIs: estimated from the duration
            frames = round(container.duration / 1e6 * float(rate))
        info = VideoInfo(stream.codec_context.width, stream.codec_context.height, frames or 0, rate,
                         len(container.streams.audio))
        return info, [a.codec_context.name for a in container.streams.audio]
    finally:
        container.close()


def _rotation(src):
    """The display rotation (degrees counter-clockwise) of the clip's first frame, 0 if none."""
    import av

    try:
        with av.open(src) as container:
            for frame in container.decode(video=0):
                return int(round(frame.rotation or 0)) % 360
    except av.FFmpegError:
        return 0
    return 0


def partial_path(dst):
    """Where ``colorize_video`` writes until the clip is complete."""
    stem, ext = os.path.splitext(dst)
    return f"{stem}.partial{ext}"


def colorize_video(src, dst, colorize, batch_of=None, batch_size=8, video_codec="", progress=None, smoother=None):
    """Colourises clip ``src`` into ``dst``; returns the number of frames written.

    Args:
      colorize: uint8 RGB [H, W, 3] -> uint8 RGB [H, W, 3] (load_colorizer's callable).
      batch_of: optional uint8 [B, H, W, 3] -> [B, H, W, 3] (the callable's ``.batch``).
      video_codec: "" for the container's default (H.264 CRF 18; VP9 for WebM), or "ffv1" for
        lossless RGB (Matroska only).
      progress: optional object with ``update(n)`` (tfcolor.core.progress.Progress).
      smoother: optional callable (input frame, colourised frame) -> frame, called in clip
        order (tfcolor.deploy.temporal.FlowSmoother for --temporal=flow).
    Raises VideoError for clips FFmpeg cannot read or write; KeyboardInterrupt leaves a playable
    ``NAME.partial.EXT`` behind.
    """
    import av

    ext = os.path.splitext(dst)[1].lower()
    if video_codec == "ffv1":
        if ext != ".mkv":
            raise VideoError(f"{dst}: --video_codec=ffv1 writes Matroska: name the output .mkv")
        codec, pix_fmt, options = LOSSLESS
    elif ext in ENCODERS:
        codec, pix_fmt, options = ENCODERS[ext]
    else:
        raise VideoError(f"{dst}: write .mp4, .mkv, .mov or .webm")
    if video_codec not in ("", "ffv1"):
        codec = video_codec
    inp = _open(src)
    tmp = partial_path(dst)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    out = av.open(tmp, mode="w")
    frames = decoded = 0
    vout = None
    try:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        rate = _rate(vin)
        vout = out.add_stream(codec, rate=rate, options=dict(options))
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, pix_fmt
        vout.time_base = vin.time_base
        vout.codec_context.time_base = vin.time_base
        rotation = _rotation(src)
        if rotation:  # frames stay as coded; players turn them as they did the input's
            vout.set_display_rotation(rotation)
        audio = {a.index: out.add_stream_from_template(a) for a in inp.streams.audio}
        pending = []  # (pts, rgb) of the batch being gathered

        def flush():
            nonlocal frames
            if not pending:
                return
            rgbs = [rgb for _, rgb in pending]
            same = all(r.shape == rgbs[0].shape for r in rgbs)
            colours = batch_of(np.stack(rgbs)) if batch_of and same else [colorize(r) for r in rgbs]
            for (pts, rgb_in), rgb in zip(pending, colours):
                if smoother is not None:
                    rgb = smoother(rgb_in, rgb)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts, frame.time_base = pts, vin.time_base
                for packet in vout.encode(frame):
                    out.mux(packet)
            frames += len(pending)
            if progress:
                progress.update(len(pending))
            pending.clear()

        for packet in inp.demux(vin, *inp.streams.audio):
            if packet.stream.index in audio:
                if packet.dts is not None:  # the demuxer's last, empty packet
                    packet.stream = audio[packet.stream.index]
                    out.mux(packet)
                continue
            for frame in packet.decode():
                pts = frame.pts if frame.pts is not None else round(decoded / rate / vin.time_base)
                decoded += 1
                pending.append((pts, frame.to_ndarray(format="rgb24")))
                if len(pending) == batch_size:
                    flush()
        flush()
        for packet in vout.encode(None):
            out.mux(packet)
    except av.FFmpegError as e:
        out.close()
        inp.close()
        os.remove(tmp)
        raise VideoError(f"{src}: {type(e).__name__} after {frames} frames: {str(e)[:200]}") from e
    except KeyboardInterrupt:
        try:
            for packet in vout.encode(None) if vout is not None else ():
                out.mux(packet)
        finally:
            out.close()
            inp.close()
        raise
    out.close()
    inp.close()
    os.replace(tmp, dst)
    return frames
