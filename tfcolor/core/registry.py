"""Named choices: every name a user gives (a generator, an objective, a norm, a metric) is
checked here, and each registry of buildable things lives beside its stage.

Entries point at ``"module:attribute"`` and are imported on first use, so that checking a
configuration or printing ``--help`` imports no TensorFlow.
"""

import dataclasses
import importlib
from collections.abc import Callable, Mapping


def check_choice(what, value, choices):
    """Returns ``value``; raises ValueError listing the known names when it is not one of them."""
    choices = tuple(choices)
    if value not in choices:
        shown = ", ".join(repr(c) if c == "" else str(c) for c in choices)
        raise ValueError(f"unknown {what} {value!r}; known: {shown}")
    return value


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered thing.

    Attributes:
      target: ``"module:attribute"`` of the builder (a function or class).
      help: one line for ``--help``.
      options: builder keyword -> configuration field it takes its value from.
      check: optional function (configuration) -> error message or None, for constraints
        of this entry (e.g. the input sizes a network accepts).
    """

    target: str
    help: str = ""
    options: Mapping = dataclasses.field(default_factory=dict)
    check: Callable | None = None

    def load(self):
        module, attribute = self.target.split(":")
        return getattr(importlib.import_module(module), attribute)


class Registry(Mapping):
    """An ordered, read-only mapping name -> :class:`Entry` of one kind (``"generator"``)."""

    def __init__(self, kind, entries):
        self.kind = kind
        self._entries = dict(entries)

    def __getitem__(self, name):
        check_choice(self.kind, name, sorted(self._entries))
        return self._entries[name]

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)

    def names(self):
        return sorted(self._entries)

    def load(self, name):
        """The builder registered as ``name``."""
        return self[name].load()

    def build(self, name, **kwargs):
        return self.load(name)(**kwargs)

    def kwargs_from(self, name, config):
        """The builder keywords of ``name``'s ``options``, read from ``config``'s fields."""
        return {keyword: getattr(config, field) for keyword, field in self[name].options.items()}

    def help_text(self):
        """``a (what a is) | b (what b is)``: the names and their help, for ``--help``."""
        return " | ".join(f"{n} ({e.help})" if e.help else n for n, e in self._entries.items())
