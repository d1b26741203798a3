"""Video clips through tfcolor.deploy.video: the sound copied packet for packet, frame count,
rate, size and timestamps kept, every frame's L the input's, Ctrl-C and broken clips."""

import fractions
import os

import av
import numpy as np
import pytest

from tests.conftest import photo, run_module
from tfcolor.deploy import video
from tfcolor.deploy.colorizer import load_colorizer

RATE, FRAMES, SIZE = 10, 12, (48, 64)  # 1.2 s at 10 frames/s, 64 x 48


def make_clip(path, codec="ffv1", pix_fmt="bgr0", frames=FRAMES, audio=True, rotation=0):
    """A camera panning across a real photo, with a generated tone as AAC sound; returns the frames."""
    picture = photo("astronaut")[100:100 + SIZE[0] * 2:2, 0:400:2]
    rgbs = [np.ascontiguousarray(picture[:, 3 * i:3 * i + SIZE[1]]) for i in range(frames)]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=RATE)
        stream.width, stream.height, stream.pix_fmt = SIZE[1], SIZE[0], pix_fmt
        if rotation:
            stream.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for rgb in rgbs:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            t = np.arange(int(16000 * frames / RATE)) / 16000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
            for start in range(0, len(tone), 1024):
                frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="s16", layout="mono")
                frame.sample_rate = 16000
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return rgbs


def read_clip(path):
    """(RGB frames, their pts, the video rate, [bytes of each audio packet])."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        frames = [(f.pts, f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
    with av.open(str(path)) as container:
        sound = [bytes(p) for p in container.demux(audio=0) if p.dts is not None] if container.streams.audio else []
    return [f for _, f in frames], [p for p, _ in frames], rate, sound


@pytest.fixture(scope="module")
def colorizer(tmp_path_factory, trained_generator):
    run_dir = tmp_path_factory.mktemp("video_model")
    trained_generator.save(run_dir / "generator.keras")
    return load_colorizer(str(run_dir))[0]


def lightness(rgb):
    import skimage.color

    return skimage.color.rgb2lab(rgb)[..., 0]


def test_a_clip_keeps_its_sound_frames_rate_and_lightness(tmp_path, colorizer):
    src, dst = tmp_path / "pan.mkv", tmp_path / "out" / "pan.mkv"
    written = make_clip(src)
    count = video.colorize_video(str(src), str(dst), colorizer, colorizer.batch, batch_size=5, video_codec="ffv1")
    assert count == FRAMES and not os.path.exists(tmp_path / "out" / "pan.partial.mkv")
    frames_in, pts_in, rate_in, sound_in = read_clip(src)
    frames_out, pts_out, rate_out, sound_out = read_clip(dst)
    assert all(np.array_equal(a, b) for a, b in zip(frames_in, written))  # the clip is lossless
    assert len(frames_out) == FRAMES and frames_out[0].shape == (*SIZE, 3)
    assert rate_out == rate_in == fractions.Fraction(RATE) and pts_out == pts_in
    assert len(sound_in) > 5 and sound_out == sound_in  # the AAC packets, byte for byte
    for gray, colour in zip(frames_in, frames_out):
        assert np.abs(lightness(colour) - lightness(gray)).mean() < 1.0
        assert np.abs(colour.astype(int) - colorizer(gray)).max() <= 1  # the photo path, frame by frame
    chroma = [np.ptp(f.reshape(-1, 3).mean(axis=0)) for f in frames_out]
    assert min(chroma) > 1.0  # colour, not gray


def test_temporal_flow_keeps_lightness_and_cuts_the_warp_error(tmp_path, colorizer):
    from tfcolor.deploy.temporal import FlowSmoother
    from tfcolor.eval import video_metrics

    src = tmp_path / "pan.mkv"
    truth = make_clip(src, frames=10, audio=False)
    errors = {}
    for name, smoother in (("none", None), ("flow", FlowSmoother(0.85))):
        dst = tmp_path / f"{name}.mkv"
        video.colorize_video(str(src), str(dst), colorizer, video_codec="ffv1", smoother=smoother)
        frames = read_clip(dst)[0]
        for gray, colour in zip(truth, frames):
            assert np.abs(lightness(colour) - lightness(gray)).mean() < 1.0
        errors[name] = video_metrics.warp_error(frames, video_metrics.true_flows(truth))
    assert errors["flow"] < errors["none"]


def test_default_encoding_is_h264_in_mp4_with_the_sound_and_the_rotation(tmp_path, colorizer):
    src = tmp_path / "pan.mkv"
    make_clip(src, rotation=90)  # a phone held upright
    info, audio = video.probe(str(src))
    assert (info.width, info.height, info.rate, audio) == (SIZE[1], SIZE[0], RATE, ["aac"])
    dst = video.output_path(str(src), str(tmp_path / "out"), audio)
    assert dst.endswith("pan.mkv")  # Matroska in, Matroska out
    dst = str(tmp_path / "out" / "pan.mp4")
    assert video.colorize_video(str(src), dst, colorizer) == FRAMES
    frames, _, rate, sound = read_clip(dst)
    assert len(frames) == FRAMES and rate == RATE and sound == read_clip(src)[3]
    with av.open(dst) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert next(container.decode(video=0)).rotation == 90


def test_output_names():
    assert video.output_path("a/clip.avi", "out") == os.path.join("out", "clip.mp4")
    assert video.output_path("a/clip.webm", "out") == os.path.join("out", "clip.webm")
    assert video.output_path("a/film.ogv", "out", ["vorbis"]) == os.path.join("out", "film.mkv")
    assert video.is_video("x/Y.MP4") and not video.is_video("x/y.jpg")


def test_a_broken_clip_gives_one_line_and_no_output(tmp_path, colorizer):
    src = tmp_path / "broken.mp4"
    src.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    with pytest.raises(video.VideoError, match="broken.mp4"):
        video.colorize_video(str(src), str(tmp_path / "out.mp4"), colorizer)
    assert not os.path.exists(tmp_path / "out.mp4") and not os.path.exists(tmp_path / "out.partial.mp4")


def test_ctrl_c_leaves_a_playable_partial_file(tmp_path, colorizer):
    src, dst = tmp_path / "pan.mkv", tmp_path / "pan_out.mkv"
    make_clip(src, audio=False)
    calls = []

    def interrupted(rgb):
        calls.append(1)
        if len(calls) > 6:
            raise KeyboardInterrupt
        return colorizer(rgb)

    with pytest.raises(KeyboardInterrupt):
        video.colorize_video(str(src), str(dst), interrupted, batch_size=3, video_codec="ffv1")
    assert not os.path.exists(dst)
    frames, _, _, _ = read_clip(tmp_path / "pan_out.partial.mkv")
    assert len(frames) == 6  # the two batches done before Ctrl-C


@pytest.mark.slow
def test_colorize_command_takes_clips_and_photos(tmp_path, trained_generator):
    run_dir = tmp_path / "model"
    run_dir.mkdir()
    trained_generator.save(run_dir / "generator.keras")
    inputs = tmp_path / "in"
    inputs.mkdir()
    make_clip(inputs / "pan.mkv")
    from PIL import Image

    Image.fromarray(photo("coffee")[:40, :60]).save(inputs / "cup.png")
    out = tmp_path / "out"
    result = run_module("tfcolor.colorize", str(inputs), f"--model={run_dir}", f"--output_dir={out}")
    assert "1 colourised" in result.stdout and f"{FRAMES} frames" in result.stdout
    frames, _, rate, sound = read_clip(out / "pan.mkv")
    assert len(frames) == FRAMES and rate == RATE and sound == read_clip(inputs / "pan.mkv")[3]
    assert Image.open(out / "cup.png").size == (60, 40)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a clip")
    failed = run_module("tfcolor.colorize", str(broken), f"--model={run_dir}", "--output=x.mp4", check=False)
    assert failed.returncode == 1 and "broken.mp4" in failed.stderr and "Traceback" not in failed.stderr


def test_clip_evaluation_rows(colorizer):
    from tfcolor.eval import clips

    still = [photo("coffee")[:48, :64]] * 4
    rows = clips.evaluate_clip(still, colorizer, colorizer.batch)
    assert set(rows) == {"true clip", "gray (floor)", "--temporal=none", "--temporal=flow"}
    for m in rows.values():  # a static clip: nothing moves, nothing flickers
        assert m["warp_error"] == 0.0 and m["cdc"] == 0.0
    assert rows["gray (floor)"]["colourfulness"] < 1.0 and rows["true clip"]["psnr"] == float("inf")
    import skimage.metrics

    gray = rows["gray (floor)"]["psnr"]
    from tfcolor.deploy import inference

    expected = skimage.metrics.peak_signal_noise_ratio(still[0], inference.gray_rgb(still[0]).numpy())
    assert abs(gray - expected) < 0.01


@pytest.mark.slow
def test_evaluate_video_command(tmp_path, trained_generator):
    import json

    run_dir = tmp_path / "model"
    run_dir.mkdir()
    trained_generator.save(run_dir / "generator.keras")
    (tmp_path / "clips").mkdir()
    make_clip(tmp_path / "clips" / "pan.mkv")
    out = tmp_path / "eval"
    run_module("tfcolor.evaluate", "--video", f"--model={run_dir}", f"--data={tmp_path / 'clips'}",
               f"--output_dir={out}")
    result = json.loads((out / "metrics.json").read_text())["clips"]["pan.mkv"]
    assert result["frames"] == FRAMES and (result["width"], result["height"]) == (SIZE[1], SIZE[0])
    rows = result["rows"]
    assert rows["--temporal=flow"]["warp_error"] < rows["--temporal=none"]["warp_error"]
    assert "| --temporal=flow |" in (out / "report.md").read_text()
