"""``tfcolor-prepare SOURCE [flags]``: the data_prep command of one source, as one console script.

SOURCE is one of samples, folder, coco, places365, cifar; the flags are that source's
(``tfcolor-prepare folder --help``). ``tfcolor-prepare folder --images=DIR --output_dir=OUT``
runs exactly ``python -m data_prep.folder --images=DIR --output_dir=OUT``.
"""

import importlib
import sys

SOURCES = {
    "samples": "the sample photos scikit-image and matplotlib ship (the quick start)",
    "folder": "any folder tree of images",
    "coco": "COCO 2017 images (a deterministic fraction, grayscale photos removed)",
    "places365": "Places365-Standard with its official split lists",
    "cifar": "CIFAR-10 (python tarball, extracted folder or tensorflow-datasets)",
}


def usage():
    lines = [f"  {name:<10} {what}" for name, what in SOURCES.items()]
    return ("usage: tfcolor-prepare SOURCE [--flag=value ...]\n\nSOURCE:\n" + "\n".join(lines)
            + "\n\nEach source's flags: tfcolor-prepare SOURCE --help")


def run(argv=None):
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] not in SOURCES:
        asked_for_help = len(argv) >= 2 and argv[1] in ("-h", "--help", "help")
        print(usage(), file=sys.stdout if asked_for_help else sys.stderr)
        sys.exit(0 if asked_for_help else 2)
    module = importlib.import_module(f"data_prep.{argv[1]}")
    from tfcolor.core import entry

    entry.run(module.main, module.__name__, argv=[f"tfcolor-prepare {argv[1]}", *argv[2:]],
              user_errors=(ValueError, OSError))


if __name__ == "__main__":
    run()
