"""Evaluates a colouriser on real photos, or compares evaluations.

Metrics on RGB at each photo's own resolution: PSNR, SSIM, MAE (0-255), UIQI, colourfulness
and delta CF against the real photos, LPIPS (with --lpips_weights) and FID (with
--inception_weights, or Keras's ImageNet download when the machine is online). The model
sees the gray photo (L, ab = 0); the same metrics on that gray input are the floor.

Writes to --output_dir: metrics.json (means and per image), report.md, grid.png (gray |
colourised | real, first --grid_images photos), hist_psnr.png, hist_colorfulness.png.
With --compare DIR1,DIR2,...: compare.md and compare.png over earlier --output_dirs.

Photos stream through in batches (reading overlaps the work, memory stays flat); rows are
appended to --output_dir/per_image.jsonl as they are measured, so an interrupted evaluation
(Ctrl-C writes the report of what is done) goes on where it stopped when the same command is
run again. --eval_size=256 measures the centre 256x256 square of each photo (shorter side
resized to 256), the fixed-size protocol of colourisation papers.

With --video, --data is a clip, a folder or a glob of clips with true colours: each is
colourised from its gray version frame by frame and with --temporal=flow, and measured (PSNR,
SSIM, colourfulness per frame; warp error and CDC over frames) beside the gray clip and the
true clip; writes metrics.json and report.md.

Example usage:

    python -m tfcolor.evaluate --model=runs/quickstart/model --data=runs/quickstart/data \\
        --output_dir=runs/quickstart/eval
    python -m tfcolor.evaluate --video --model=runs/quickstart/model --data=clips/ --output_dir=runs/eval_clips
    python -m tfcolor.evaluate --compare=eval/pix2pix,eval/wgan,eval/wgan_gp --output_dir=eval/compare
"""

import os
import sys

from absl import app, flags, logging

from tfcolor.core import entry, fs, rundir

flags.DEFINE_string("model", None, "Training --model_dir, SavedModel folder or .tflite file.")
flags.DEFINE_string("data", None, "Prepared dataset folder (val, else test, else train shards), "
                    "TFRecord glob, or a folder/glob of photos.")
flags.DEFINE_string("output_dir", None, "Where metrics.json, report.md and the figures go.")
flags.DEFINE_integer("max_images", 0, "Evaluate at most this many photos (0: all).")
flags.DEFINE_integer("eval_size", 0, "Measure the centre square of each photo, shorter side resized to "
                     "this many pixels (e.g. 256, as colourisation papers report); 0: whole photos.")
flags.DEFINE_integer("batch_size", 16, "Photos colourised and measured together.")
flags.DEFINE_bool("overwrite", False, "Start again even if --output_dir holds a partial evaluation "
                  "(without it, the same settings resume and other settings are refused).")
flags.DEFINE_integer("grid_images", 8, "Photos shown in grid.png.")
flags.DEFINE_string("lpips_weights", None, "lpips_vgg.npz (python -m tfcolor.convert_lpips); "
                    "without it LPIPS is skipped.")
flags.DEFINE_string("inception_weights", "imagenet", "InceptionV3 no-top weights file for FID, or "
                    "'imagenet' (Keras download; skipped with a message when offline); '' skips FID.")
flags.DEFINE_list("compare", [], "Evaluation output folders to compare (no --model/--data then).")
flags.DEFINE_integer("render_size", 0, rundir.RENDER_SIZE_HELP)
flags.DEFINE_float("chroma_gain", 0.0, rundir.CHROMA_GAIN_HELP)
flags.DEFINE_integer("threads", 0, "TFLite threads (0: all cores).")
flags.DEFINE_integer("hints", 0, "Colour each photo with this many user hints drawn from its true colours "
                     "(Zhang et al. 2017's test: centres N(1/2, 1/4) of each side, each the true mean a*b* of a 9x9 "
                     "patch; seeded per photo): a hint generator reads them, any other model is corrected by Levin "
                     "et al. 2004's propagation (and its hint refiner, if it has one).")
flags.DEFINE_bool("hint_sweep", False, "Also measure PSNR against the number of hints (0-50) for the model and "
                  "for Levin 2004 alone from the same points, beside the gray floor: hint_sweep.md and .png (the "
                  "first --hint_sweep_images photos).")
flags.DEFINE_integer("hint_sweep_images", 24, "Photos in --hint_sweep.")
flags.DEFINE_bool("video", False, "--data holds clips with true colours: per-frame and temporal measures "
                  "(warp error, CDC) of --temporal=none and flow.")
flags.DEFINE_integer("max_frames", 300, "--video: the first frames of each clip measured (0: all; they are "
                     "held in memory).")
flags.DEFINE_float("temporal_weight", 0.85, "--video: colorize's --temporal_weight for the flow rows.")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # TF's INFO lines (saving, converting) drown ours
    from tfcolor.eval import report

    if FLAGS.compare:
        try:
            print(report.compare(FLAGS.compare, FLAGS.output_dir))
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    if not FLAGS.model or not FLAGS.data:
        raise app.UsageError("give --model and --data (or --compare)")
    if FLAGS.video:
        return _evaluate_clips()
    from tfcolor.core.progress import Progress
    from tfcolor.deploy.colorizer import load_colorizer
    from tfcolor.eval import perceptual, runner, streams

    notes = []
    lpips = inception = None
    try:
        lpips = perceptual.LPIPS(FLAGS.lpips_weights) if FLAGS.lpips_weights else None
    except perceptual.MissingWeights as e:
        notes.append(f"LPIPS skipped: {e}")
    if lpips is None and not notes:
        notes.append("LPIPS skipped: no --lpips_weights (make lpips_vgg.npz with python -m tfcolor.convert_lpips)")
    if FLAGS.inception_weights:
        try:
            inception = perceptual.inception_features(FLAGS.inception_weights)
        except perceptual.MissingWeights as e:
            notes.append(f"FID skipped: {e}")
    else:
        notes.append("FID skipped: --inception_weights=''")
    for note in notes:
        print(note, file=sys.stderr)
    try:
        colorize, description = load_colorizer(FLAGS.model, FLAGS.threads or None, FLAGS.render_size,
                                                 FLAGS.chroma_gain)
        settings = {"model": os.path.abspath(FLAGS.model), "data": os.path.abspath(FLAGS.data),
                    "eval_size": FLAGS.eval_size, "render_size": FLAGS.render_size,
                    "chroma_gain": FLAGS.chroma_gain, "lpips": lpips is not None,
                    "fid": inception is not None, "hints": FLAGS.hints}
        log = runner.ResultsLog(FLAGS.output_dir, settings, FLAGS.overwrite)
        total = streams.count_photos(FLAGS.data, FLAGS.max_images)  # corrupt records: DataError
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    resumed = f", {len(log.done)} measured before: going on" if log.done else ""
    print(f"evaluating {description} on {total} photos from {FLAGS.data}{resumed}")
    skipped = {}
    photos = streams.stream_photos(FLAGS.data, FLAGS.max_images, FLAGS.eval_size, skipped)
    progress = Progress(total, label="evaluate ", unit="photos")
    kept, interrupted = [], False
    try:
        kept = runner.evaluate(colorize, photos, log, lpips, inception, FLAGS.grid_images,
                               FLAGS.batch_size, progress,
                               runner.protocol_hints(FLAGS.hints) if FLAGS.hints else None)
    except KeyboardInterrupt:
        interrupted = True
    progress.close()
    per_image = log.rows
    if not per_image:
        print(f"error: no colour photos in {FLAGS.data}", file=sys.stderr)
        return 1
    fid = log.fid() if inception is not None else {}
    if inception is not None and not fid:
        notes.append("FID skipped: needs at least 2 photos")
    if interrupted:
        notes.append(f"interrupted after {len(per_image)} of {total} photos: run the same command again to go on")
    result = {"model": description, "data": FLAGS.data, "eval_size": FLAGS.eval_size, "count": len(per_image),
              "skipped": skipped, "notes": notes, "summary": runner.summarize(per_image, fid),
              "per_image": per_image, "hints": FLAGS.hints}
    report.write_outputs(FLAGS.output_dir, result, kept)
    print(report.report_markdown(result).split("![grid]")[0].rstrip())
    if FLAGS.hint_sweep and not interrupted:
        print(_hint_sweep(colorize, description))
    print(f"wrote {FLAGS.output_dir}/metrics.json, report.md, grid.png, hist_psnr.png, hist_colorfulness.png")
    return 130 if interrupted else 0


def _hint_sweep(colorize, description):
    """PSNR against the number of hints for the model and Levin 2004 alone, beside the gray floor;
    appended to report.md."""
    from tfcolor.deploy import hinting
    from tfcolor.eval import hint_sweep, streams

    photos = [(p.key, p.truth) for p in streams.stream_photos(FLAGS.data, FLAGS.hint_sweep_images, FLAGS.eval_size,
                                                               {})]
    rows = hint_sweep.sweep(photos, {"model": colorize.hinted, "Levin 2004 alone": hinting.propagate})
    curve = hint_sweep.curves(rows)
    with open(os.path.join(FLAGS.output_dir, "hint_sweep.json"), "w") as f:
        f.write(fs.json_text({"model": description, "rows": rows}, indent=1))
    hint_sweep.plot(curve, os.path.join(FLAGS.output_dir, "hint_sweep.png"), f"{description}: PSNR against hints")
    text = hint_sweep.markdown(curve, len(photos))
    with open(os.path.join(FLAGS.output_dir, "hint_sweep.md"), "w") as f:
        f.write(text)
    with open(os.path.join(FLAGS.output_dir, "report.md"), "a") as f:
        f.write("\n" + text + "\n![hint sweep](hint_sweep.png)\n")
    return text


def _evaluate_clips():
    from tfcolor.deploy import video
    from tfcolor.deploy.colorizer import collect_inputs, load_colorizer
    from tfcolor.eval import clips

    found, _ = collect_inputs([FLAGS.data], extensions=video.VIDEO_EXTENSIONS)
    found = [(path, name) for path, name in found if video.is_video(path)]
    if not found:
        print(f"error: no clips in {FLAGS.data}", file=sys.stderr)
        return 1
    try:
        colorize, description = load_colorizer(FLAGS.model, FLAGS.threads or None, FLAGS.render_size,
                                                 FLAGS.chroma_gain)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    results = {}
    for path, name in found:
        try:
            truth = clips.read_frames(path, FLAGS.max_frames)
        except Exception as e:  # noqa: BLE001 (PyAV's errors; a broken clip must not stop the others)
            print(f"skipped {path}: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
            continue
        if len(truth) < 2:
            print(f"skipped {path}: fewer than 2 frames", file=sys.stderr)
            continue
        print(f"evaluating {description} on {name} ({len(truth)} frames)")
        rows = clips.evaluate_clip(truth, colorize, getattr(colorize, "batch", None), weight=FLAGS.temporal_weight)
        results[name] = {"frames": len(truth), "width": truth[0].shape[1], "height": truth[0].shape[0], "rows": rows}
    if not results:
        return 1
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    with open(os.path.join(FLAGS.output_dir, "metrics.json"), "w") as f:
        f.write(fs.json_text({"model": description, "data": FLAGS.data, "clips": results}))
    text = clips.markdown(results)
    with open(os.path.join(FLAGS.output_dir, "report.md"), "w") as f:
        f.write(f"# {description} on clips of {FLAGS.data}\n\n{text}")
    print(text)
    print(f"wrote {FLAGS.output_dir}/metrics.json, report.md")
    return 0


def run():
    """The console script's entry point (``--help`` as under ``python -m``)."""
    entry.run(main, __name__)


if __name__ == "__main__":
    run()
