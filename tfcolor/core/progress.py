"""A small progress line with rate and ETA, for long command-line jobs.

On a terminal it redraws one line; in a log (not a tty) it prints a line every
``log_interval`` seconds so CI logs stay short.
"""

import sys
import time


def format_duration(seconds):
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class Progress:
    """Counts done items out of ``total`` and shows rate and ETA."""

    def __init__(self, total, label="", unit="img", stream=None, log_interval=10.0):
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._interval = 0.2 if self._tty else log_interval
        self._last = self.start
        self.extra = ""

    @property
    def elapsed(self):
        return time.monotonic() - self.start

    @property
    def rate(self):
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def line(self):
        rate = self.rate
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        percent = 100.0 * self.done / self.total if self.total else 100.0
        text = (
            f"{self.label}{self.done}/{self.total} ({percent:5.1f}%) "
            f"{rate:.1f} {self.unit}/s ETA {format_duration(eta)}"
        )
        return f"{text} {self.extra}".rstrip()

    def update(self, count=1, extra=None):
        self.done += count
        if extra is not None:
            self.extra = extra
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._write(self.line())

    def _write(self, text):
        if self._tty:
            self.stream.write("\r" + text + "\033[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self):
        """Prints the final line: count, elapsed time and mean rate."""
        text = (
            f"{self.label}{self.done}/{self.total} in {format_duration(self.elapsed)} "
            f"({self.rate:.1f} {self.unit}/s) {self.extra}".rstrip()
        )
        self._write(text)
        if self._tty:
            self.stream.write("\n")
        return text
