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
