"""The overall bar of ``initlab reproduce``: weights, pace, time left, and where the expected times come from."""

from __future__ import annotations

import io
import re

import pytest

from initlab.errors import InvalidArgumentError
from initlab.paths import project_root
from initlab.pipeline import progress
from initlab.pipeline.progress import NotebookProgress, estimate, format_seconds, pace, progress_wanted, weights_of
from initlab.pipeline.reproduce import WALL_SECONDS, expected_seconds, notebook_paths


def test_unknown_expected_times_weigh_the_mean_of_the_known_ones() -> None:
    assert weights_of([10, None, 30]) == ([10.0, 20.0, 30.0], True)
    assert weights_of([None, None]) == ([1.0, 1.0], False)  # equal shares, no time before a notebook completes
    with pytest.raises(InvalidArgumentError, match="must be positive"):
        weights_of([10, 0])


def test_pace_is_taken_over_expected_seconds_once_a_notebook_completed() -> None:
    assert pace(100.0, 250.0, calibrated=True) == 2.5
    assert pace(0.0, 0.0, calibrated=True) == 1.0  # the expected times are seconds: take them as they are
    assert pace(0.0, 0.0, calibrated=False) is None


def test_the_estimate_moves_through_the_running_notebooks_share_at_the_pace() -> None:
    weights = [100.0, 300.0, 600.0]
    start = estimate(weights, finished=0, running_for=0.0, pace=1.0)
    assert (start.done, start.left) == (0.0, 1000.0)
    # the first took 200 s for 100 expected: pace 2; the second has run 100 s, half an expected 50 s
    mid = estimate(weights, finished=1, running_for=100.0, pace=2.0)
    assert mid.done == pytest.approx(150.0) and mid.left == pytest.approx(2.0 * 850.0)
    # a notebook that overruns holds the bar at the end of its share; the rest is still ahead
    over = estimate(weights, finished=1, running_for=10_000.0, pace=2.0)
    assert over.done == pytest.approx(400.0) and over.left == pytest.approx(1200.0)
    assert estimate(weights, finished=3, running_for=0.0, pace=2.0) == progress.Estimate(1000.0, 0.0)
    assert estimate(weights, finished=1, running_for=5.0, pace=None) == progress.Estimate(100.0, None)
    with pytest.raises(InvalidArgumentError, match="between 0 and 3"):
        estimate(weights, finished=4, running_for=0.0, pace=1.0)


def test_the_bar_sums_the_weights_and_paces_on_completed_notebooks_only(monkeypatch) -> None:
    now = {"t": 0.0}
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now["t"])
    out = io.StringIO()
    with NotebookProgress([100, 50, 200], enabled=True, file=out, interval=3600) as bar:
        assert bar._bar.total == pytest.approx(350.0)
        bar.start()
        now["t"] = 30.0
        bar.finish(completed=False)  # failed after 30 s: its time says nothing of the pace
        assert bar.current() == progress.Estimate(100.0, 250.0)
        bar.start()
        now["t"] = 130.0
        assert bar.current() == progress.Estimate(150.0, 200.0)  # overran its 50 s: held at the end of its share
        bar.finish(completed=True)  # 100 s for 50 expected: pace 2
        assert bar.current() == progress.Estimate(150.0, 400.0)
        bar.start()
        now["t"] = 230.0
        assert bar.current() == progress.Estimate(200.0, 300.0)
        bar.finish(completed=True)
        assert bar.current() == progress.Estimate(350.0, 0.0)
        with pytest.raises(InvalidArgumentError, match="exceeds the 3 notebooks"):
            bar.finish(completed=True)
    text = out.getvalue()
    assert "3/3 done" in text and "about 00:00 left" in text and "100%" in text and "about 04:10 left" in text


def test_a_disabled_bar_draws_nothing_and_says_lines_plainly(capsys) -> None:
    with NotebookProgress([1, 2], enabled=False) as bar:
        bar.start()
        bar.say("[1/2] a.ipynb ...")
        bar.say("    failed", err=True)
        bar.finish(completed=True)
    out, err = capsys.readouterr()
    assert out == "[1/2] a.ipynb ...\n" and err == "    failed\n"


def test_progress_is_on_by_default_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_wanted(None, stream=Terminal()) is True
    assert progress_wanted(None, stream=io.StringIO()) is False
    assert progress_wanted(True, stream=io.StringIO()) is True
    assert progress_wanted(False, stream=Terminal()) is False


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (None, 0, 59.6, 754, 3723)] == ["?", "00:00", "01:00", "12:34", "1:02:03"]


def test_expected_wall_times_cover_every_notebook_and_match_the_documented_run() -> None:
    paths = notebook_paths()
    for quick in (False, True):
        assert None not in expected_seconds(paths, quick=quick)
    assert set(WALL_SECONDS["full"]) == set(WALL_SECONDS["quick"]) == {p.name[:2] for p in paths}
    table = (project_root() / "docs" / "reproduction.md").read_text()
    documented = {
        m.group(1): int(m.group(2).replace(",", ""))
        for m in re.finditer(r"^\| (\d\d) [^|]+\|[^|]+\|[^|]+\| ([\d,]+) \|", table, flags=re.MULTILINE)
    }
    assert documented == WALL_SECONDS["full"]
