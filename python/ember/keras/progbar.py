"""Keras' progress bar: "469/469 ━━━━━━━━━━━━━━━━━━━━ 2s 3ms/step - accuracy: 0.9 - loss: 0.3".

On a terminal the line is redrawn in place (at most every 0.05 s, in Keras' colours); elsewhere (a file, a
pipe, a notebook log) only the finished line is written.
"""
import math
import sys
import time


def format_value(v):
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def format_time(seconds_per_step):
    if seconds_per_step >= 1 or seconds_per_step == 0:
        return f"{seconds_per_step:.0f}s/step"
    if seconds_per_step >= 1e-3:
        return f"{seconds_per_step * 1e3:.0f}ms/step"
    return f"{seconds_per_step * 1e6:.0f}us/step"


class Progbar:
    """update(step, logs) after each step; the last step (step == target) finishes the line."""

    def __init__(self, target, verbose=1, width=20, interval=0.05, file=None):
        self.target, self.verbose, self.width, self.interval = target, verbose, width, interval
        self.file = file or sys.stdout
        self.dynamic = verbose == 1 and hasattr(self.file, "isatty") and self.file.isatty()
        self.start = self._last = time.time()
        self._prev_width = 0

    def _bar(self, current, colour):
        digits = int(math.log10(max(self.target, 1))) + 1
        count = f"{current:{digits}d}/{self.target}"
        done = int(self.width * current / max(self.target, 1))
        if not colour:
            return f"{count} {'━' * self.width}" if current >= self.target else \
                f"{count} {'━' * done}{' ' * (self.width - done)}"
        return (f"\x1b[1m{count}\x1b[0m \x1b[32m{'━' * done}\x1b[0m"
                f"\x1b[37m{'━' * (self.width - done)}\x1b[0m")

    def line(self, current, logs, colour=False):
        now = time.time()
        per_step = (now - self.start) / current if current else 0.0
        finished = current >= self.target
        elapsed = now - self.start if finished else per_step * (self.target - current)  # or the time left
        values = "".join(f" - {k}: {format_value(v)}" for k, v in logs.items())
        if self.verbose == 2:
            return f"{current}/{self.target} - {elapsed:.0f}s - {format_time(per_step)}{values}"
        return f"{self._bar(current, colour)} {elapsed:.0f}s {format_time(per_step)}{values}"

    def update(self, current, logs):
        if self.verbose == 0:
            return
        finished = current >= self.target
        now = time.time()
        if not finished and (not self.dynamic or now - self._last < self.interval):
            return
        self._last = now
        text = self.line(current, logs, colour=self.dynamic)
        if self.dynamic:
            width = len(self.line(current, logs, colour=False))
            pad = " " * max(self._prev_width - width, 0)
            self.file.write("\r" + text + pad + ("\n" if finished else ""))
            self._prev_width = width
        else:
            self.file.write(text + "\n")
        self.file.flush()
