"""The console scripts' entry point: absl's ``app.run`` with ``--help`` listing the command's flags.

absl's ``--help`` lists the flags of the file being run (``sys.argv[0]``). Under ``python -m
tfcolor.train`` that file is the module that defines them; a console script
(``tfcolor-train``) is a stub file of its own, for which absl knows no flag, so its ``--help``
would list none. :func:`run` registers the command module's flags for the stub too.
"""

import sys


def run(main, module, argv=None):
    """``app.run(main, argv)`` with the flags of ``module`` (a module name) listed by ``--help``."""
    from absl import app, flags

    for flag in flags.FLAGS.get_key_flags_for_module(module) + flags.FLAGS.get_flags_for_module(module):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main, argv=argv)
