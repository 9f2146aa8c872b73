"""The overall progress of ``initlab reproduce``: one bar over the notebooks, weighted by their expected wall time.

Each notebook's share of the bar is its expected wall time. The pace of the
run (seconds taken over seconds expected, for the notebooks that completed)
scales what is left into the time shown; while a notebook runs, the bar moves
through its share at that pace and stops at the end of it if the notebook takes
longer. The bar goes to stderr and redraws once a second; papermill's bar of
the running notebook's cells sits below it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from initlab.errors import InvalidArgumentError


def progress_wanted(choice: bool | None, *, stream: IO[str] | None = None) -> bool:
    """``choice`` when given; otherwise whether ``stream`` (default: stderr) is a terminal."""
    if choice is not None:
        return bool(choice)
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def weights_of(expected: Sequence[float | None]) -> tuple[list[float], bool]:
    """The bar's weights from each notebook's expected seconds (``None``: not known).

    A notebook without an expected time weighs the mean of the others; when none is
    known, every notebook weighs 1.

    Returns:
        The weights, and whether they are seconds (so that a time left can be shown
        before the first notebook completes).
    """
    for value in expected:
        if value is not None and not value > 0:
            raise InvalidArgumentError("expected seconds", value, "must be positive (or None when not known)")
    known = [float(v) for v in expected if v is not None]
    if not known:
        return [1.0] * len(expected), False
    mean = sum(known) / len(known)
    return [mean if v is None else float(v) for v in expected], True


def pace(expected: float, taken: float, *, calibrated: bool) -> float | None:
    """Seconds taken per expected second over the notebooks that completed.

    Before any completed: 1 when the weights are seconds (``calibrated``), else ``None`` (unknown).
    """
    if expected > 0:
        return taken / expected
    return 1.0 if calibrated else None


@dataclass(frozen=True)
class Estimate:
    """Where the run stands: ``done`` in weight units (the bar's position), ``left`` in seconds (``None``: unknown)."""

    done: float
    left: float | None


def estimate(weights: Sequence[float], *, finished: int, running_for: float, pace: float | None) -> Estimate:
    """How much of the work is done and how many seconds are left.

    Args:
        weights: each notebook's weight (expected seconds), in the order they run.
        finished: how many notebooks have ended (completed or failed).
        running_for: seconds the next notebook has been running (0 before it starts).
        pace: seconds taken per weight unit (see :func:`pace`); ``None`` when not known.

    Returns:
        ``done``: the ended notebooks' weights plus the running one's share at this
        pace (at most its weight); ``left``: the pace times the weight not yet done.
    """
    if not 0 <= finished <= len(weights):
        raise InvalidArgumentError("finished", finished, f"must be between 0 and {len(weights)}")
    before = float(sum(weights[:finished]))
    if finished == len(weights):
        return Estimate(before, 0.0)
    current = float(weights[finished])
    if pace is None:
        return Estimate(before, None)
    inside = min(running_for / pace, current) if pace > 0 else current
    return Estimate(before + inside, pace * (float(sum(weights)) - before - inside))


def format_seconds(seconds: float | None) -> str:
    """``1:02:03``, ``12:03`` or ``?`` (unknown)."""
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


FORMAT = "{desc} {percentage:3.0f}%|{bar}| "  # followed by the status line


class NotebookProgress:
    """The overall bar of one reproduction (a no-op when not ``enabled``); use it as a context manager.

    ``start()`` before each notebook, ``finish(completed=...)`` after it, in order;
    :meth:`say` prints a line without breaking the bars.
    """

    def __init__(
        self, expected: Sequence[float | None], *, enabled: bool, file: IO[str] | None = None, interval: float = 1.0
    ) -> None:
        self.weights, self.calibrated = weights_of(expected)
        self.enabled = enabled
        self._file = file
        self._interval = interval
        self._finished = 0
        self._paced = (0.0, 0.0)  # expected and taken seconds of the completed notebooks
        self._started_at: float | None = None
        self._run_started = time.perf_counter()
        self._bar: Any = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the state above, read by the redrawing thread
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> NotebookProgress:
        self._run_started = time.perf_counter()
        if self.enabled:
            from tqdm import tqdm  # a terminal bar (tqdm.auto would look for notebook widgets)

            self._bar = tqdm(
                total=sum(self.weights),
                desc="notebooks",
                bar_format=FORMAT,
                file=self._file or sys.stderr,
                dynamic_ncols=True,
            )
            self._redraw()
            self._ticker = threading.Thread(target=self._tick, name="reproduce-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._bar is not None:
            self._redraw()
            self._bar.close()
            self._bar = None

    def start(self) -> None:
        """The next notebook starts."""
        with self._lock:
            self._started_at = time.perf_counter()
        self._redraw()

    def finish(self, *, completed: bool) -> None:
        """The running notebook ended; a completed one's time sets the pace (a failed one's does not)."""
        with self._lock:
            if self._finished >= len(self.weights):
                raise InvalidArgumentError("finish", self._finished + 1, f"exceeds the {len(self.weights)} notebooks")
            if completed and self._started_at is not None:
                expected, taken = self._paced
                taken += time.perf_counter() - self._started_at
                self._paced = (expected + self.weights[self._finished], taken)
            self._finished += 1
            self._started_at = None
        self._redraw()

    def current(self) -> Estimate:
        """The estimate now."""
        with self._lock:
            running = 0.0 if self._started_at is None else time.perf_counter() - self._started_at
            return estimate(
                self.weights,
                finished=self._finished,
                running_for=running,
                pace=pace(*self._paced, calibrated=self.calibrated),
            )

    def say(self, text: str, *, err: bool = False) -> None:
        """Print one line to stdout (or stderr) without breaking the bars."""
        stream = sys.stderr if err else sys.stdout
        if self._bar is None:
            print(text, file=stream, flush=True)
        else:
            from tqdm import tqdm

            tqdm.write(text, file=stream)
            stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            self._redraw()

    def _redraw(self) -> None:
        bar = self._bar
        if bar is None:
            return
        now = self.current()
        elapsed = time.perf_counter() - self._run_started
        bar.n = min(now.done, bar.total)
        left = "time left not known yet" if now.left is None else f"about {format_seconds(now.left)} left"
        status = f"{self._finished}/{len(self.weights)} done, {format_seconds(elapsed)} elapsed, {left}"
        bar.bar_format = FORMAT + status.replace("{", "{{").replace("}", "}}")
        bar.refresh()
