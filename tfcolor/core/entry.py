"""The commands' entry point: absl's ``app.run`` as a user expects a command to behave.

* ``--help`` lists the command's flags under a console script too. absl lists the flags of the
  file being run (``sys.argv[0]``): under ``python -m tfcolor.train`` the module that defines
  them, but a console script (``tfcolor-train``) is a stub file of its own, for which absl knows
  no flag; :func:`run` registers the command module's flags for it.
* ``~`` in a path flag is the home folder, also after ``=`` (``--images=~/Pictures``), where the
  shell leaves it alone.
* ``user_errors``: the exceptions that mean a user's mistake (a missing file, a wrong folder)
  end in one line on stderr and exit status 1, not a traceback.
* A command that has imported TensorFlow exits half a second sooner: the garbage collector's
  passes at interpreter exit traversed every TensorFlow object (0.6 s of CPU), so once the
  command is done the garbage there is collected and the rest frozen (``gc.freeze``).
"""

import os
import sys


def expand_home(flag_values):
    """``~`` at the start of string flags (and of list flags' items) -> the home folder."""
    for name in list(flag_values):
        flag = flag_values[name]
        value = flag.value
        if isinstance(value, str) and value.startswith("~"):
            flag.value = os.path.expanduser(value)
        elif isinstance(value, list) and any(isinstance(v, str) and v.startswith("~") for v in value):
            flag.value = [os.path.expanduser(v) if isinstance(v, str) else v for v in value]


def _collect_then_freeze():
    """One collection now (finalisers of what is garbage run as usual), then every live object out
    of the collector's reach: the passes at interpreter exit no longer traverse them."""
    import gc

    gc.collect()
    gc.freeze()


def run(main, module, argv=None, user_errors=()):
    """``app.run(main, argv)`` with the flags of ``module`` (a module name) listed by ``--help``,
    ``~`` expanded in path flags, and ``user_errors`` reported in one line."""
    from absl import app, flags

    for flag in flags.FLAGS.get_key_flags_for_module(module) + flags.FLAGS.get_flags_for_module(module):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

    def wrapped(args):
        expand_home(flags.FLAGS)
        try:
            return main(args)
        except user_errors as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        finally:
            _collect_then_freeze()

    app.run(wrapped, argv=argv)
