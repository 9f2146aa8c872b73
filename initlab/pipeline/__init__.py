"""Notebooks as a pipeline: execution, cleaning, recorded numbers, the reproduction, sweeps and the summary.

The names below are imported on first use, so that starting a sweep's worker or reading a
notebook's parameters does not load TensorFlow (the summary needs it).
"""

from __future__ import annotations

import importlib

_WHERE = {
    "KERNEL_ENV": "initlab.pipeline.execution",
    "execute_notebook": "initlab.pipeline.execution",
    "ADDRESS": "initlab.pipeline.nbclean",
    "clean": "initlab.pipeline.nbclean",
    "TAGS": "initlab.pipeline.parameters",
    "read_parameters": "initlab.pipeline.parameters",
    "FLOAT32_REL": "initlab.pipeline.recorded",
    "MIME": "initlab.pipeline.recorded",
    "RECORDED": "initlab.pipeline.recorded",
    "RULES": "initlab.pipeline.recorded",
    "SEED_SIGMAS": "initlab.pipeline.recorded",
    "VERDICT_BAND": "initlab.pipeline.recorded",
    "compare": "initlab.pipeline.recorded",
    "read_records": "initlab.pipeline.recorded",
    "record": "initlab.pipeline.recorded",
    "record_column": "initlab.pipeline.recorded",
    "record_family": "initlab.pipeline.recorded",
    "record_published": "initlab.pipeline.recorded",
    "record_seeds": "initlab.pipeline.recorded",
    "record_summary": "initlab.pipeline.recorded",
    "record_tested": "initlab.pipeline.recorded",
    "record_tests": "initlab.pipeline.recorded",
    "record_verdict": "initlab.pipeline.recorded",
    "record_within": "initlab.pipeline.recorded",
    "mean_tolerance": "initlab.pipeline.recorded",
    "PUBLISHED_COLUMNS": "initlab.pipeline.recorded",
    "seed_tolerance": "initlab.pipeline.recorded",
    "NotebookProgress": "initlab.pipeline.progress",
    "progress_wanted": "initlab.pipeline.progress",
    "NUMBERS": "initlab.pipeline.reproduce",
    "QUICK": "initlab.pipeline.reproduce",
    "WALL_SECONDS": "initlab.pipeline.reproduce",
    "baselines_dir": "initlab.pipeline.reproduce",
    "expected_seconds": "initlab.pipeline.reproduce",
    "notebook_paths": "initlab.pipeline.reproduce",
    "partial_dir": "initlab.pipeline.reproduce",
    "quick_cache": "initlab.pipeline.reproduce",
    "quick_parameters": "initlab.pipeline.reproduce",
    "write_numbers": "initlab.pipeline.reproduce",
    "BUILDERS": "initlab.pipeline.summary",
    "COLUMNS": "initlab.pipeline.summary",
    "REPLAYS": "initlab.pipeline.summary",
    "build": "initlab.pipeline.summary",
    "desai_rows": "initlab.pipeline.summary",
    "markdown": "initlab.pipeline.summary",
    "merge": "initlab.pipeline.summary",
    "ours_text": "initlab.pipeline.summary",
    "patel_rows": "initlab.pipeline.summary",
    "write": "initlab.pipeline.summary",
    "META_KEY": "initlab.pipeline.sweep",
    "SLUG_MAX": "initlab.pipeline.sweep",
    "SWEEP_FILE": "initlab.pipeline.sweep",
    "TABLE_STEM": "initlab.pipeline.sweep",
    "Point": "initlab.pipeline.sweep",
    "check_grid": "initlab.pipeline.sweep",
    "collect": "initlab.pipeline.sweep",
    "execute_point": "initlab.pipeline.sweep",
    "expand": "initlab.pipeline.sweep",
    "load": "initlab.pipeline.sweep",
    "parse_value": "initlab.pipeline.sweep",
    "run": "initlab.pipeline.sweep",
    "slug": "initlab.pipeline.sweep",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    """A public name of the pipeline, imported from its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
