"""Training library behind ``python -m tfcolor.train``: builders, callbacks, figures, loop."""
