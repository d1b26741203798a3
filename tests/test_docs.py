"""The commands the README and docs/ show exist and take the flags they are shown with."""

import glob
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

DOCS = [os.path.join(REPO, "README.md"), *sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))]
# `python -m MODULE` or a console script, then its arguments up to the end of the command
# (a shell line, with backslash continuations joined; inline code stops at the backtick).
COMMAND = re.compile(r"(?:python -m |(?<![\w-])tfcolor-)(tfcolor\.\w+|data_prep\.\w+|prepare|train|colorize|"
                     r"evaluate|export|client)([^`\n|;&#]*)")
SCRIPTS = {"prepare": "data_prep.prepare", "train": "tfcolor.train", "colorize": "tfcolor.colorize",
           "evaluate": "tfcolor.evaluate", "export": "tfcolor.export", "client": "tfcolor.client"}


def shown_commands():
    """{module: {flag names}} over every command shown in the docs."""
    found = {}
    for path in DOCS:
        text = re.sub(r"\\\n\s*", " ", open(path).read())
        for name, args in COMMAND.findall(text):
            module = SCRIPTS.get(name, name)
            if module == "data_prep.prepare":  # tfcolor-prepare SOURCE: the source's flags
                words = args.split()
                if not words or not re.fullmatch(r"[a-z0-9]+", words[0]):
                    continue  # the script named, not run
                module, args = f"data_prep.{words[0]}", " ".join(words[1:])
            args = re.sub(r"\"[^\"]*\"|'[^']*'", "", args)  # quoted values (Beam's own options)
            flags = set(re.findall(r"(?<![\w-])--(?:no)?([a-z][a-z0-9_]*)", args))
            found.setdefault(module, set()).update(flags)
    return found


def test_the_docs_show_commands():
    commands = shown_commands()
    assert {"tfcolor.train", "tfcolor.colorize", "tfcolor.evaluate", "tfcolor.export",
            "data_prep.folder", "data_prep.samples"} <= set(commands)


@pytest.mark.parametrize("module", sorted(shown_commands()))
def test_every_shown_flag_exists(module):
    # A fresh interpreter (not run_module's fork): --helpfull lists the flags of every module
    # imported, and the commands' help imports no TensorFlow, so it is quick anyway.
    result = subprocess.run([sys.executable, "-m", module, "--helpfull"], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env=dict(os.environ, PYTHONPATH=REPO))
    # absl exits with 1 after printing the help
    assert "Traceback" not in result.stderr and "flags:" in result.stdout, \
        f"python -m {module} --helpfull failed:\n{result.stderr[-2000:]}"
    known = set(re.findall(r"^\s+--(?:\[no\])?([a-z][a-z0-9_]*):", result.stdout, flags=re.M))
    unknown = sorted(shown_commands()[module] - known - {"help", "helpfull"})
    assert not unknown, f"the docs show python -m {module} with flags it does not have: {unknown}"


CONSOLE_SCRIPTS = [("tfcolor-train", ["-m", "tfcolor.train"]), ("tfcolor-colorize", ["-m", "tfcolor.colorize"]),
                   ("tfcolor-evaluate", ["-m", "tfcolor.evaluate"]), ("tfcolor-export", ["-m", "tfcolor.export"]),
                   ("tfcolor-client", ["-m", "tfcolor.client"]), ("tfcolor-prepare folder", ["-m", "data_prep.folder"])]


@pytest.mark.parametrize("script, module", CONSOLE_SCRIPTS)
def test_console_scripts_help_lists_the_same_flags_as_python_m(script, module):
    """`tfcolor-train --help` (the installed stub) lists every flag `python -m tfcolor.train --help` does."""
    name, *args = script.split()
    path = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(path):  # a checkout used without installing it; CI installs it: there it fails
        message = f"{name} is not installed next to {sys.executable}: pip install -e ."
        pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)

    def flags_of(command):
        result = subprocess.run(command + ["--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert "Traceback" not in result.stderr, result.stderr[-2000:]  # (absl's --help exits with 1)
        return sorted(re.findall(r"^  --(?:\[no\])?(\w+)", result.stdout, re.M))

    shown = flags_of([path, *args])
    assert shown and shown == flags_of([sys.executable, *module])



HELP_WITHOUT_TENSORFLOW = """
import runpy, sys
sys.argv = [%r, "--help"]
try:
    runpy.run_module(%r, run_name="__main__")
except SystemExit:
    pass
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


@pytest.mark.parametrize("module", [m[-1] for _, m in CONSOLE_SCRIPTS] + ["data_prep.samples", "data_prep.coco",
                                                                          "data_prep.cifar", "tfcolor.convert_lpips"])
def test_help_imports_no_tensorflow(module):
    """`--help` of every command answers at once: TensorFlow's import (5 s) waits for real work."""
    result = subprocess.run([sys.executable, "-c", HELP_WITHOUT_TENSORFLOW % (module, module)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]", f"python -m {module} --help imported TensorFlow"

# Every command the README shows, and how the walk below runs it: RUN (as written, in a fresh
# folder holding the placeholders' photos), extra flags appended (a shorter run of the same
# command), or why it is not run there.
RUN = ()
README_COMMANDS = {
    "make quickstart": "about 2 minutes; its two steps are walked (the training shortened) and "
                       "`make quickstart` itself is run by hand on a fresh clone at the end of every session",
    "make test": "the test suite itself",
    ".venv/bin/python -m pytest -m \"not slow\" -q": "the test suite itself",
    "python -m data_prep.samples --output_dir=runs/quickstart/data --image_size=64 --store_size=72": RUN,
    "python -m tfcolor.train --flagfile=experiments/quickstart.flags": ("--epochs=1", "--steps_per_epoch=6",
                                                                        "--log_every=2", "--checkpoint_every=6"),
    "python -m data_prep.folder --images=~/Pictures --output_dir=data/mine --image_size=256 --store_size=286": RUN,
    "python -m data_prep.folder ...": "the command above, shortened in the text",
    "python -m tfcolor.train --flagfile=experiments/pix2pix.flags --train=data/mine --model_dir=runs/p2p":
        # Narrower too: the paper's U-Net (54M weights) wrote 863 MB of checkpoints for two steps.
        ("--epochs=1", "--decay_epochs=1", "--steps_per_epoch=2", "--batch_size=2", "--log_every=1",
         "--checkpoint_every=2", "--val_images=0", "--g_filters=8", "--g_max_filters=64", "--d_filters=8"),
    "python -m tfcolor.colorize old_photo.jpg scans/": RUN,
    "python -m tfcolor.colorize --model=runs/quickstart/model --input=photos/ --output_dir=colorized "
    "--side_by_side": RUN,
    "python -m tfcolor.colorize film.mp4 --output=film_color.mp4": RUN,
    "python -m tfcolor.colorize Shepard_Calais_1906_FrenchGP.ogv --output=calais.mkv":
        "the film comes from a Debian package (bench.figures fetches it); tests colour clips they make",
    "python -m bench.figures film": "fetches its film from a Debian package: never in tests",
    "python -m tfcolor.evaluate --model=runs/quickstart/model --data=runs/quickstart/data "
    "--output_dir=runs/quickstart/eval": RUN,
    "python -m tfcolor.evaluate --compare=runs/quickstart/eval,runs/other/eval --output_dir=runs/compare": RUN,
    "python -m tfcolor.export --model_dir=runs/quickstart/model --name=quickstart --tflite=fp32,fp16,int8": RUN,
    "python -m tfcolor.export --tflite=fp32,fp16,int8 --calibration_data=my_photos/":
        "three conversions of the 25 MB shipped model, over a minute (test_export converts and checks each "
        "variant of a small model)",
    "docker run --rm -p 8501:8501 -v \"$PWD/saved_models:/models\" tensorflow/serving "
    "--model_config_file=/models/models.config": "needs Docker and the TF Serving image (not on test machines)",
    "python -m tfcolor.client --server=localhost:8501 --model=quickstart --input=photos/ --output_dir=out":
        "needs the TF Serving container above (test_serving_api runs the client against a local server)",
    "python -m tfcolor.export --web=site": RUN,
    "python -m http.server -d site 8000": "serves until stopped (test_web serves the page on 127.0.0.1 instead)",
}


def readme_commands():
    """The commands of the README: each line of its code blocks (comments cut) and each inline
    `python -m ...` or `make ...`."""
    text = open(os.path.join(REPO, "README.md")).read()
    found, in_block = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.split("  #")[0].strip():
            found.append(line.split("  #")[0].strip())
    found += [m.strip() for m in re.findall(r"`((?:python -m|make|\.venv/bin/python -m) [^`]+)`",
                                            text.replace("\n", " "))]
    return list(dict.fromkeys(found))


def test_every_readme_command_is_walked_or_has_a_reason():
    unknown = [c for c in readme_commands() if c not in README_COMMANDS]
    assert not unknown, f"README commands the walk neither runs nor explains (tests/test_docs.py): {unknown}"
    assert not set(README_COMMANDS) - set(readme_commands()), "README_COMMANDS names commands gone from the README"


@pytest.mark.slow
def test_the_readme_commands_do_what_the_readme_says(tmp_path):
    """Runs every README command marked RUN (or shortened) as written, in order, in a fresh
    folder where the placeholders (old_photo.jpg, scans/, photos/, ~/Pictures, film.mp4) are real
    photos and a clip; checks each made what the README says."""
    import json

    import av
    import numpy as np
    from PIL import Image

    from tests import launcher
    from tests.conftest import photo, photo_crops, save

    work = tmp_path / "work"
    os.makedirs(work)
    os.symlink(os.path.join(REPO, "experiments"), work / "experiments")
    crops = photo_crops(24, size=120)
    for i, crop in enumerate(crops):
        save(str(tmp_path / "home" / "Pictures" / f"p{i}.jpg"), crop)
    save(str(work / "old_photo.jpg"), Image.fromarray(photo("astronaut")[::3, ::3]).convert("L"))
    save(str(work / "scans" / "box" / "scan1.png"), photo("coffee")[::4, ::4])
    save(str(work / "photos" / "cat.jpg"), photo("chelsea")[::2, ::2])
    with av.open(str(work / "film.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(6):
            frame = np.asarray(Image.fromarray(photo("rocket")).convert("L").resize((96 + i, 64)))[:, :96]
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.dstack([frame] * 3), format="rgb24")))
        out.mux(stream.encode())
    env = launcher.command_env(HOME=str(tmp_path / "home"))
    runs = {}
    for command, how in README_COMMANDS.items():
        if isinstance(how, str):
            continue
        words = command.split()
        assert words[:2] == ["python", "-m"], command
        result = launcher.run(["-m", *words[2:], *how], env, cwd=str(work), timeout=600)
        assert result.returncode == 0, f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr, command
        runs[command] = result
        if "--output_dir=runs/quickstart/eval" in command:  # --compare's runs/other/eval: another run's
            import shutil

            shutil.copytree(work / "runs" / "quickstart" / "eval", work / "runs" / "other" / "eval")

    quick = work / "runs" / "quickstart"

    def strict(path):  # valid JSON: no NaN or Infinity
        return json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{path}: {name}"))

    assert strict(quick / "data" / "manifest.json")["splits"]["train"]["records"] > 0
    summary = strict(quick / "model" / "summary.json")
    assert summary["steps"] == 6 and (quick / "model" / "generator.keras").exists()
    assert json.loads((work / "data" / "mine" / "manifest.json").read_text())["splits"]["train"]["records"] > 0
    assert (work / "runs" / "p2p" / "generator.keras").exists()
    p2p = strict(work / "runs" / "p2p" / "config.json")  # the flagfile's setup, narrower
    assert (p2p["data"]["image_size"], p2p["model"]["generator"], p2p["model"]["discriminator"],
            p2p["model"]["d_layers"], p2p["objective"]["gan"]) == (256, "unet", "patchgan", 3, "pix2pix")
    assert Image.open(work / "colorized" / "old_photo.png").size == (171, 171)
    assert Image.open(work / "colorized" / "box" / "scan1.png").size == (150, 100)
    assert Image.open(work / "colorized" / "cat.png").size == (226, 150)
    assert Image.open(work / "colorized" / "cat_side_by_side.png").size == (452, 150)
    with av.open(str(work / "film_color.mp4")) as clip:
        assert sum(1 for _ in clip.decode(video=0)) == 6
    assert "psnr" in strict(quick / "eval" / "metrics.json")["summary"]["model"]
    assert (work / "runs" / "compare" / "compare.md").exists()
    assert (work / "saved_models" / "quickstart" / "1" / "saved_model.pb").exists()
    for variant in ("fp32", "fp16", "int8"):
        assert (work / "saved_models" / "quickstart" / "tflite" / "1" / f"{variant}.tflite").exists()
    assert (work / "site" / "index.html").exists()
