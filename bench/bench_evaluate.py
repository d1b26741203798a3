"""Evaluation speed: the metrics per 1024x640 photo and the whole ``tfcolor.evaluate`` command,
this tree against an earlier revision (default: the last one with per-photo eager metrics), side
by side in one run.

    python -m bench.bench_evaluate [--baseline=0ad80d4] [--photos_256=80] [--photos_1024=12]

1. Metrics alone, model output + gray floor of one 1024x640 photo (PSNR, SSIM, MAE, UIQI,
   colourfulness; no FID/LPIPS): the baseline's metrics module (from ``git show``)
   called per photo as its evaluate did, against ``runner.measure`` of this tree. Best of
   ``--repeats``, the two alternated.
2. InceptionV3 features (FID) for 32 photos, one call each against one batched call.
3. The whole command on folders of JPEGs (256x256 and 1024x640, cut from the sample photos)
   with the quick-start generator (U-Net, 64 px, 32 filters; random weights: speed only), FID
   off: the baseline in a ``git worktree`` against this tree. photos/s is the command's own
   progress figure (reading, colourising and measuring, without the start-up); the wall time
   includes the start-up (TensorFlow import, model load, XLA compilation).
"""

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time

from absl import app, flags

flags.DEFINE_string("baseline", "0ad80d4", "Git revision to compare against.")
flags.DEFINE_integer("photos_256", 80, "Photos in the 256x256 folder.")
flags.DEFINE_integer("photos_1024", 12, "Photos in the 1024x640 folder.")
flags.DEFINE_integer("photos_scale", 400, "Photos of the 256x256 run of this tree alone (dataset scale: "
                     "the start-up, ~5 s of tracing and XLA compilation, spread over more photos).")
flags.DEFINE_integer("repeats", 3, "Repeats of the metrics-alone timing.")
flags.DEFINE_bool("commands", True, "Also time the whole evaluate command.")
flags.DEFINE_bool("parts", True, "Time the metrics alone and the Inception features (off: the whole command only, "
                  "e.g. against a --baseline whose metrics module imports modules since moved).")
FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    import numpy as np
    import tensorflow as tf

    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    flags_line = open("/proc/cpuinfo").read()
    isa = "AVX-512" if "avx512f" in flags_line else "AVX2" if "avx2" in flags_line else "SSE"
    a = tf.constant(np.random.default_rng(0).normal(size=(4096, 4096)).astype(np.float32))
    (a @ a).numpy()
    best = min(_timed(lambda: (a @ a).numpy()) for _ in range(3))
    return f"{model}, {os.cpu_count()} cores, {isa}, fp32 peak {2 * 4096 ** 3 / best / 1e9:.0f} GFLOP/s"


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def baseline_metrics(tmp):
    path = os.path.join(tmp, "baseline_metrics.py")
    for where in ("tfcolor/eval/metrics.py", "tfcolor/metrics.py"):  # the module's place then and now
        shown = subprocess.run(["git", "show", f"{FLAGS.baseline}:{where}"], cwd=REPO, capture_output=True,
                               text=True)
        if shown.returncode == 0:
            source = shown.stdout
            break
    else:
        raise SystemExit(f"--baseline={FLAGS.baseline} has no tfcolor metrics module")
    with open(path, "w") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("baseline_metrics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metrics_alone(tmp):
    import numpy as np
    import tensorflow as tf

    from data_prep.sample_photos import sample_photos
    from tfcolor.deploy import inference
    from tfcolor.eval import runner, streams

    old = baseline_metrics(tmp)
    truth = tf.image.resize(sample_photos()["astronaut"], [640, 1024]).numpy().round().clip(0, 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    model = np.clip(truth.astype(int) + rng.integers(-20, 21, truth.shape), 0, 255).astype(np.uint8)
    gray = inference.gray_rgb(truth).numpy()
    photo = streams.Photo("astronaut", truth, gray)

    def run_old():  # what the baseline's evaluate did per photo
        for pred in (model, gray):
            [float(fn(pred, truth)) for fn in old.PER_IMAGE.values()]
            float(old.colorfulness(pred))
        float(old.colorfulness(truth))

    def run_new():
        runner.measure([photo], [model])

    run_new()  # XLA compiles once per padded shape
    times = {"baseline": [], "this tree": []}
    for _ in range(FLAGS.repeats):
        times["baseline"].append(_timed(run_old))
        times["this tree"].append(_timed(run_new))
    return times


def inception_speed(tmp):
    """Inception features of 32 photos: 32 calls of one (the baseline's evaluate) vs one call."""
    import keras
    import numpy as np

    from data_prep.sample_photos import sample_photos
    from tfcolor.eval import perceptual

    keras.utils.set_random_seed(0)
    path = os.path.join(tmp, "inception.weights.h5")
    keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None,
                                   input_shape=(299, 299, 3)).save_weights(path)
    features = perceptual.inception_features(path)
    photos = [p[:480, :480] for p in sample_photos().values()]
    images = [photos[i % len(photos)] for i in range(32)]
    features(images[:1]), features(images)  # traces
    single = min(_timed(lambda: [np.asarray(features(image[None])) for image in images]) for _ in range(2))
    batched = min(_timed(lambda: np.asarray(features(images))) for _ in range(2))
    return single, batched


def write_photos(folder, count, size):
    from bench.photos import write_jpegs

    write_jpegs(folder, count, size=size)
    return folder


def run_command(tree, model_dir, data, output_dir):
    env = dict(os.environ, PYTHONPATH=tree, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tfcolor.evaluate", f"--model={model_dir}", f"--data={data}",
                             f"--output_dir={output_dir}", "--inception_weights="],
                            cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    match = re.search(r"evaluate \d+/\d+ in [\d:]+ \(([\d.]+) \w+/s\)", result.stderr + result.stdout)
    return float(match.group(1)), wall


def commands(tmp):
    import keras

    from tfcolor import models

    keras.utils.set_random_seed(0)
    generator = models.build_generator("unet", image_size=64, base_filters=32)
    model_dir = os.path.join(tmp, "run")
    os.makedirs(model_dir)
    generator.save(os.path.join(model_dir, "generator.keras"))
    worktree = os.path.join(tmp, "baseline")
    subprocess.run(["git", "worktree", "add", "--detach", worktree, FLAGS.baseline], cwd=REPO, check=True,
                   capture_output=True)
    rows = []
    try:
        for label, count, size in (("256x256", FLAGS.photos_256, (256, 256)),
                                   ("1024x640", FLAGS.photos_1024, (1024, 640))):
            data = write_photos(os.path.join(tmp, f"photos_{label}"), count, size)
            new = run_command(REPO, model_dir, data, os.path.join(tmp, f"new_{label}"))
            old = run_command(worktree, model_dir, data, os.path.join(tmp, f"old_{label}"))
            rows.append((label, count, old, new))
        if FLAGS.photos_scale:
            data = write_photos(os.path.join(tmp, "photos_scale"), FLAGS.photos_scale, (256, 256))
            scale = run_command(REPO, model_dir, data, os.path.join(tmp, "scale"))
            rows.append(("256x256", FLAGS.photos_scale, None, scale))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", worktree], cwd=REPO, capture_output=True)
    return rows


def parts(tmp):
    times = metrics_alone(tmp)
    old, new = min(times["baseline"]), min(times["this tree"])
    print("\nMetrics alone, model + gray of one 1024x640 photo (s; runs):")
    for name, values in times.items():
        print(f"  {name:10s} best {min(values):.3f}  ({' / '.join(f'{v:.3f}' for v in values)})")
    print(f"  speed-up {old / new:.0f}x (per run: "
          f"{' / '.join(f'{a / b:.0f}x' for a, b in zip(times['baseline'], times['this tree'], strict=True))})")
    single, batched = inception_speed(tmp)
    print(f"\nInceptionV3 features of 32 photos: one by one {single:.2f} s ({32 / single:.1f} img/s), "
          f"one batch {batched:.2f} s ({32 / batched:.1f} img/s), {single / batched:.1f}x; "
          f"FID of 5,000 photos (3 images each) ~{5000 * 3 * batched / 32 / 60:.0f} min of features")


def main(argv):
    del argv
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        if FLAGS.parts:
            parts(tmp)
        if FLAGS.commands:
            print("\nWhole evaluate command (photos/s of the work; wall time with start-up):")
            print("| photos | count | baseline photos/s | this tree photos/s | speed-up | wall baseline | "
                  "wall this tree |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for label, count, old, (new_rate, new_wall) in commands(tmp):
                if old is None:
                    print(f"| {label} | {count} | | {new_rate:.1f} | | | {new_wall:.0f} s |")
                    continue
                print(f"| {label} | {count} | {old[0]:.2f} | {new_rate:.1f} | {new_rate / old[0]:.2f}x | "
                      f"{old[1]:.0f} s | {new_wall:.0f} s |")


if __name__ == "__main__":
    app.run(main)
