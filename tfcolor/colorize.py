"""Colourises photo files with a trained model.

Photos: the arguments and/or --input (files, globs or folders, searched recursively).
--model: a SavedModel (a version folder, or a TF Serving model folder: its highest version),
a .tflite file, or a training --model_dir; without it, the model that ships in the
repository's saved_models/colorizer (see its MODEL_CARD.md). Photos may be of any size, format
and mode (gray, RGB, RGBA, palette, CMYK, 16-bit). Each photo comes back as a PNG at its own
resolution in --output_dir (transparency kept); with --side_by_side also
NAME_side_by_side.png (gray | colourised). Unreadable files are reported and skipped; the exit
status is non-zero only when nothing could be colourised.

Video clips (any container and codec FFmpeg reads, by extension; in folders too) come back as
clips: every frame colourised (its own L kept; --temporal=flow carries colour along the optical
flow against flicker), frame rate, size and timestamps kept, the sound copied as it is, in --output_dir/NAME.mp4 (.mkv or .webm for those inputs, .mkv when the sound
does not fit MP4) or --output for one clip. Ctrl-C leaves a playable NAME.partial.EXT.

Hints (--hints): your colours where the model guesses wrong. A JSON file of points
({"points": [{"x": 412, "y": 230, "color": "#4a7fb5"}]}, x and y in pixels of the photo as
displayed, origin top left; optional "radius" in px) or a scribble PNG of the photo's size whose
non-transparent pixels are hints; for many photos a folder holding <photo stem>.json or
<photo stem>_scribble.png per photo (photos without one are coloured automatically). A hint sets
the colour (a*b*); the photo keeps its own lightness. "reference": "photo.jpg" in the JSON
colours it like that photo (its a*b* mean and spread), points given with it still holding. A model trained with --hints reads them
with its network; any other model's colours are corrected around them by Levin et al. 2004's
propagation, then by the model's learned hint refiner when its folder holds one (hint_refiner.keras).
A bad hint file skips its photo with the reason.

Archives (--runner=beam): the photos coloured by an Apache Beam pipeline on RunInference
(pip install 'tfcolor[beam]'): the same PNGs, byte for byte, as this command's, inputs and
--output_dir on any Beam filesystem (gs://, s3://, hdfs://), outputs already there kept (a rerun
finishes what is missing), Dataflow, Flink or Spark through --beam_pipeline_options (docs/deploy.md).

Example usage:

    python -m tfcolor.colorize old_photo.jpg                      # -> colorized/old_photo.png
    python -m tfcolor.colorize film.mp4 --output=film_color.mp4
    python -m tfcolor.colorize old_photo.jpg --hints=old_photo.json
    python -m tfcolor.colorize --model=saved_models/quickstart --input=photos/ --output_dir=out
    python -m tfcolor.colorize --runner=beam --input=scans/ --output_dir=scans_colour
    python -m tfcolor.colorize --model=saved_models/quickstart/tflite/1/int8.tflite \\
        --input='old/*.jpg' --output_dir=out --side_by_side
"""

import os
import sys

from absl import app, flags, logging

from tfcolor.core import entry, rundir, shipped
from tfcolor.core.progress import Progress
from tfcolor.core.images import IMAGE_EXTENSIONS
from tfcolor.deploy import video
from tfcolor.deploy.colorizer import (NETWORK_BATCH, check_model, collect_inputs, colorize_photos, encode_png,
                                      failure, load_colorizer, output_names, read_photo, side_by_side)

flags.DEFINE_string("model", None, "SavedModel folder, .tflite file or training --model_dir (default: the "
                    f"shipped model, {shipped.MODELS_ROOT}/{shipped.NAME}).")
flags.DEFINE_list("input", [], "Photo files, globs or folders (comma-separated); photos may also be given as "
                  "arguments.")
flags.DEFINE_string("output_dir", "colorized", "Where the colourised PNGs (and clips) go.")
flags.DEFINE_string("output", None, "The output file of a single clip (.mp4, .mkv, .mov or .webm).")
flags.DEFINE_string("video_codec", "", "Clips' video encoder: '' (H.264 CRF 18; VP9 for .webm) or ffv1 "
                    "(lossless RGB, .mkv only).")
flags.DEFINE_integer("video_batch", 8, "Frames of a clip colourised in one batch.")
flags.DEFINE_enum("temporal", "flow", ["none", "flow"], "Clips: none colourises each frame on its own; flow "
                  "carries colour along the optical flow from the previous frame and blends it with each "
                  "frame's prediction (less flicker; restarts at scene cuts).")
flags.DEFINE_float("temporal_weight", 0.85, "--temporal=flow: the share of the carried colour where the flow "
                   "is reliable (0: none carried).")
flags.DEFINE_string("hints", None, "Colour hints: a JSON file of points or a scribble PNG (one photo), or a folder "
                    "of <photo stem>.json / <photo stem>_scribble.png files (see the module's help).")
flags.DEFINE_bool("side_by_side", False, "Also write NAME_side_by_side.png (gray | colourised).")
flags.DEFINE_bool("recursive", True, "Search folders recursively.")
flags.DEFINE_bool("overwrite", None, "Replace existing outputs (else skip photos already done). Default: "
                  "replace with the local runner, keep (finish what is missing) with --runner=beam.")
flags.DEFINE_enum("runner", "local", ["local", "beam"], "local: this process. beam: an Apache Beam pipeline "
                  "(pip install 'tfcolor[beam]'; photos only) on RunInference, for archives: inputs and "
                  "--output_dir on any Beam filesystem (gs://, s3://, hdfs://), the same PNGs as local.")
flags.DEFINE_string("beam_pipeline_options", "", "--runner=beam: Beam PipelineOptions as one string, e.g. "
                    "\"--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp\". Without "
                    "--runner there: Beam's in-process FnApiRunner with --num_workers processes.")
flags.DEFINE_integer("num_workers", None, "--runner=beam in-process: worker processes (default: all cores).")
flags.DEFINE_integer("max_pixels", 200_000_000, "Larger photos are skipped (decompression bombs).")
flags.DEFINE_integer("render_size", 0, rundir.RENDER_SIZE_HELP)
flags.DEFINE_float("chroma_gain", 0.0, rundir.CHROMA_GAIN_HELP)
flags.DEFINE_integer("threads", 0, "TFLite threads (0: all cores).")
FLAGS = flags.FLAGS


def _save(path, rgb, alpha=None):
    from tfcolor.core import fs

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fs.write_bytes_atomic(path, encode_png(rgb, alpha))  # never a half-written PNG under its name


def main(argv):
    logging.set_verbosity(logging.WARNING)  # TF's INFO lines (saving, converting) drown ours
    specs = list(argv[1:]) + list(FLAGS.input)
    if not specs:
        raise app.UsageError("give the photos to colourise: python -m tfcolor.colorize PHOTO... (or --input)")
    if FLAGS.runner == "beam":
        return _on_beam(specs)
    if FLAGS.hints:  # (TensorFlow: the shipped model and .tflite files colour without it)
        from tfcolor.deploy import hinting
    overwrite = True if FLAGS.overwrite is None else FLAGS.overwrite
    found, missing = collect_inputs(specs, FLAGS.recursive, IMAGE_EXTENSIONS + video.VIDEO_EXTENSIONS)
    for spec in missing:
        print(f"warning: {spec}: no image or video files", file=sys.stderr)
    if not found:
        print("error: no input photos or clips found", file=sys.stderr)
        return 1
    clips = [(path, name) for path, name in found if video.is_video(path)]
    inputs = [(path, name) for path, name in found if not video.is_video(path)]
    problem = _hints_problem(len(found))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if FLAGS.output and (len(clips) != 1 or inputs):
        raise app.UsageError("--output names the output of one clip; for several inputs use --output_dir")
    try:
        model = FLAGS.model or shipped.default_model()
        colorize, description = load_colorizer(model, FLAGS.threads or None, FLAGS.render_size, FLAGS.chroma_gain)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    clips_done = _colorize_clips(clips, colorize, description)
    if not inputs:
        return 0 if clips_done else 1
    print(f"colourising {len(inputs)} photo(s) with {description} into {FLAGS.output_dir}")
    names = output_names([name for _, name in inputs])
    progress = Progress(len(inputs), label="colorize ")
    done, failed = 0, []
    todo = []
    for (path, in_name), name in zip(inputs, names):
        target = os.path.join(FLAGS.output_dir, name)
        if not overwrite and os.path.exists(target):
            progress.update()
            done += 1
        else:
            todo.append((path, in_name, target))
    for start in range(0, len(todo), NETWORK_BATCH):  # the network sees NETWORK_BATCH photos a call
        read = []
        for path, in_name, target in todo[start:start + NETWORK_BATCH]:
            try:
                rgb, alpha = read_photo(path, FLAGS.max_pixels)
                hint_file = FLAGS.hints and hinting.hint_file_for(FLAGS.hints, in_name)
                hints = hinting.load_for_photo(hint_file, *rgb.shape[:2]) if hint_file else None
                read.append((path, target, rgb, alpha, hints))
            except Exception as e:  # noqa: BLE001 (a bad photo must not stop the others)
                failed.append((path, failure(e)))
                progress.update(extra=f"{len(failed)} skipped")
        results = colorize_photos(colorize, [(rgb, hints) for _, _, rgb, _, hints in read])
        for (path, target, rgb, alpha, _), (result, reason) in zip(read, results):
            if result is None:
                failed.append((path, reason))
            else:
                _save(target, result, alpha)
                if FLAGS.side_by_side:
                    _save(os.path.splitext(target)[0] + "_side_by_side.png", side_by_side(rgb, result))
                done += 1
            progress.update(extra=f"{len(failed)} skipped" if failed else "")
    progress.close()
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"{done} colourised, {len(failed)} skipped; outputs in {FLAGS.output_dir}")
    return 0 if done or clips_done else 1


def _hints_problem(count):
    """What is wrong with --hints for ``count`` photos and clips (None: nothing), on any
    filesystem Beam reads."""
    from tfcolor.core import fs

    if not FLAGS.hints:
        return None
    if not fs.exists(FLAGS.hints):
        return f"--hints={FLAGS.hints}: no such file or folder"
    if fs.is_file(FLAGS.hints) and count != 1:
        return (f"--hints={FLAGS.hints} is one photo's hints, but {count} photos and clips were given; for several "
                "give a folder of <photo stem>.json files")
    return None


def _on_beam(specs):
    """--runner=beam: the photos coloured by an Apache Beam pipeline (tfcolor.deploy.archive)."""
    from tfcolor.core import beam, fs

    try:
        from tfcolor.deploy import archive
    except ImportError as e:
        if not (e.name or "").startswith("apache_beam"):
            raise
        print(f"error: {beam.MISSING}", file=sys.stderr)
        return 1
    if FLAGS.output:
        raise app.UsageError("--output names one clip's output; --runner=beam colours photos into --output_dir")
    try:
        model = FLAGS.model or shipped.default_model()
        if not fs.is_remote(model):
            check_model(model, FLAGS.render_size, FLAGS.chroma_gain)
        found, missing = archive.collect_inputs(specs, FLAGS.recursive, IMAGE_EXTENSIONS + video.VIDEO_EXTENSIONS)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for spec in missing:
        print(f"warning: {spec}: no image or video files", file=sys.stderr)
    if not found:
        print("error: no input photos found", file=sys.stderr)
        return 1
    problem = _hints_problem(len(found))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    clips = [path for path, _ in found if video.is_video(path)]
    photos = [(path, name) for path, name in found if not video.is_video(path)]
    jobs = [(i, path, name, fs.join(FLAGS.output_dir, *target.split("/")))
            for i, ((path, name), target) in enumerate(zip(photos, output_names([n for _, n in photos])))]
    todo = jobs if FLAGS.overwrite else archive.pending(jobs, FLAGS.output_dir, FLAGS.side_by_side)
    print(f"colourising {len(todo)} photo(s) with {model} on Apache Beam into {FLAGS.output_dir}"
          + (f" ({len(jobs) - len(todo)} already there)" if len(todo) < len(jobs) else ""))
    counters, skipped = {"photos": 0, "skipped": 0, "bytes_written": 0}, []
    if todo:
        counters, skipped = archive.colorize_archive(
            todo, FLAGS.output_dir, model, hints=FLAGS.hints, max_pixels=FLAGS.max_pixels,
            side_by_side=FLAGS.side_by_side, overwrite=bool(FLAGS.overwrite), render_size=FLAGS.render_size, chroma_gain=FLAGS.chroma_gain,
            threads=FLAGS.threads or None, num_workers=FLAGS.num_workers, beam_options=FLAGS.beam_pipeline_options)
    skipped += [(path, "a clip: --runner=beam colours photos; colourise clips with the local runner")
                for path in clips]
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    done = counters["photos"] + len(jobs) - len(todo)
    print(f"{done} colourised ({len(jobs) - len(todo)} already there), {len(skipped)} skipped, "
          f"{counters['bytes_written'] / 1e6:.1f} MB written; outputs in {FLAGS.output_dir}")
    return 0 if done else 1


def _colorize_clips(clips, colorize, description):
    """Colourises each clip (a clip that fails is reported and passed over); returns how many
    were written."""
    if not clips:
        return 0
    from tfcolor.core.hints import HintError
    from tfcolor.deploy import hinting
    from tfcolor.deploy.hint_tracks import HintTracker

    done = 0
    for path, name in clips:
        target = FLAGS.output or path
        try:
            info, audio = video.probe(path)
            subfolder = os.path.dirname(name)
            target = FLAGS.output or video.output_path(path, os.path.join(FLAGS.output_dir, subfolder), audio)
            if FLAGS.overwrite is False and os.path.exists(target):
                done += 1
                continue
            print(f"colourising {path} ({info.width}x{info.height}, {info.frames or '?'} frames at "
                  f"{float(info.rate):.3g}/s, {info.audio_streams} sound stream(s)) with {description} into {target}")
            frame_colorize, batch = colorize, getattr(colorize, "batch", None)
            hint_file = hinting.hint_file_for(FLAGS.hints, name)
            if hint_file:  # points placed on frames, carried along the flow: frames one by one, in order
                hints = hinting.load_for_clip(hint_file, info.height, info.width)
                tracker = HintTracker(hints)
                frame_colorize, batch = (lambda rgb: colorize.hinted(rgb, hints, points=tracker(rgb))), None
                print(f"{path}: {len(hints.points)} hint point(s) from {hint_file}")
            progress = Progress(info.frames, label=f"{os.path.basename(path)} ", unit="frames")
            smoother = None
            if FLAGS.temporal == "flow":
                from tfcolor.deploy.temporal import FlowSmoother

                smoother = FlowSmoother(FLAGS.temporal_weight)
            frames = video.colorize_video(path, target, frame_colorize, batch, FLAGS.video_batch, FLAGS.video_codec,
                                          progress, smoother)
            progress.close()
            print(f"{target}: {frames} frames in {progress.elapsed:.1f} s ({progress.rate:.1f} frames/s)")
            done += 1
        except (video.VideoError, HintError) as e:
            print(f"error: {e}", file=sys.stderr)
        except KeyboardInterrupt:
            print(f"\ninterrupted: the frames done so far are in {video.partial_path(target)}", file=sys.stderr)
            raise
    return done


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
