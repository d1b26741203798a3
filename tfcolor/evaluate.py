"""Evaluates a colouriser on real photos, or compares evaluations.

Metrics on RGB at each photo's own resolution: PSNR, SSIM, MAE (0-255), UIQI, colourfulness
and delta CF against the real photos, LPIPS (with --lpips_weights) and FID (with
--inception_weights, or Keras's ImageNet download when the machine is online). The model
sees the gray photo (L, ab = 0); the same metrics on that gray input are the floor.

Writes to --output_dir: metrics.json (means and per image), report.md, grid.png (gray |
colourised | real, first --grid_images photos), hist_psnr.png, hist_colorfulness.png.
With --compare DIR1,DIR2,...: compare.md and compare.png over earlier --output_dirs.

Example usage:

    python -m tfcolor.evaluate --model=runs/quickstart/model --data=runs/quickstart/data \\
        --output_dir=runs/quickstart/eval
    python -m tfcolor.evaluate --compare=eval/pix2pix,eval/wgan,eval/wgan_gp --output_dir=eval/compare
"""

import sys

from absl import app, flags, logging

flags.DEFINE_string("model", None, "Training --model_dir, SavedModel folder or .tflite file.")
flags.DEFINE_string("data", None, "Prepared dataset folder (val, else test, else train shards), "
                    "TFRecord glob, or a folder/glob of photos.")
flags.DEFINE_string("output_dir", None, "Where metrics.json, report.md and the figures go.")
flags.DEFINE_integer("max_images", 0, "Evaluate at most this many photos (0: all).")
flags.DEFINE_integer("grid_images", 8, "Photos shown in grid.png.")
flags.DEFINE_string("lpips_weights", None, "lpips_vgg.npz (python -m tfcolor.convert_lpips); "
                    "without it LPIPS is skipped.")
flags.DEFINE_string("inception_weights", "imagenet", "InceptionV3 no-top weights file for FID, or "
                    "'imagenet' (Keras download; skipped with a message when offline); '' skips FID.")
flags.DEFINE_list("compare", [], "Evaluation output folders to compare (no --model/--data then).")
flags.DEFINE_integer("threads", 0, "TFLite threads (0: all cores).")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # TF's INFO lines (saving, converting) drown ours
    from tfcolor import evaluation

    if FLAGS.compare:
        print(evaluation.compare(FLAGS.compare, FLAGS.output_dir))
        return 0
    if not FLAGS.model or not FLAGS.data:
        raise app.UsageError("give --model and --data (or --compare)")
    from tfcolor import perceptual
    from tfcolor.colorizer import load_colorizer
    from tfcolor.progress import Progress

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
        colorize, description = load_colorizer(FLAGS.model, FLAGS.threads or None)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    skipped = {}
    samples = evaluation.load_samples(FLAGS.data, FLAGS.max_images, skipped)
    if not samples:
        print(f"error: no colour photos in {FLAGS.data}", file=sys.stderr)
        return 1
    print(f"evaluating {description} on {len(samples)} photos from {FLAGS.data}")
    progress = Progress(len(samples), label="evaluate ")
    per_image, fid, kept = evaluation.evaluate(colorize, samples, lpips, inception, FLAGS.grid_images, progress)
    progress.close()
    if inception is not None and not fid:
        notes.append("FID skipped: needs at least 2 photos")
    result = {"model": description, "data": FLAGS.data, "count": len(per_image), "skipped": skipped,
              "notes": notes, "summary": evaluation.summarize(per_image, fid), "per_image": per_image}
    evaluation.write_outputs(FLAGS.output_dir, result, kept)
    print(evaluation.report_markdown(result).split("![grid]")[0].rstrip())
    print(f"wrote {FLAGS.output_dir}/metrics.json, report.md, grid.png, hist_psnr.png, hist_colorfulness.png")
    return 0


if __name__ == "__main__":
    app.run(main)
