"""Notebooks as a pipeline: execution, cleaning, recorded numbers, the reproduction, sweeps and the summary."""

from initlab.pipeline.execution import NotebookFailedError, execute_notebook
from initlab.pipeline.nbclean import ADDRESS, clean
from initlab.pipeline.recorded import (
    FLOAT32_REL,
    MIME,
    RECORDED,
    RULES,
    SEED_SIGMAS,
    VERDICT_BAND,
    compare,
    read_records,
    record,
    record_column,
    record_family,
    record_seeds,
    record_summary,
    seed_tolerance,
)
from initlab.pipeline.reproduce import (
    NUMBERS,
    QUICK,
    baselines_dir,
    notebook_paths,
    partial_dir,
    quick_cache,
    quick_parameters,
    write_numbers,
)
from initlab.pipeline.summary import (
    BUILDERS,
    COLUMNS,
    REPLAYS,
    build,
    desai_rows,
    markdown,
    merge,
    ours_text,
    patel_rows,
    write,
)
from initlab.pipeline.sweep import (
    META_KEY,
    SLUG_MAX,
    SWEEP_FILE,
    TABLE_STEM,
    Point,
    SweepFailedError,
    UnknownParameterError,
    check_grid,
    collect,
    execute_point,
    expand,
    load,
    notebook_parameters,
    parse_value,
    run,
    slug,
)

__all__ = ["ADDRESS", "clean", "NotebookFailedError", "execute_notebook", "MIME", "FLOAT32_REL", "SEED_SIGMAS", "VERDICT_BAND", "RULES", "RECORDED", "record", "seed_tolerance", "record_seeds", "record_summary", "record_family", "read_records", "compare", "record_column", "QUICK", "NUMBERS", "baselines_dir", "partial_dir", "notebook_paths", "quick_parameters", "quick_cache", "write_numbers", "SWEEP_FILE", "TABLE_STEM", "META_KEY", "SLUG_MAX", "UnknownParameterError", "SweepFailedError", "Point", "parse_value", "notebook_parameters", "check_grid", "slug", "expand", "execute_point", "run", "collect", "load", "COLUMNS", "REPLAYS", "desai_rows", "patel_rows", "BUILDERS", "build", "merge", "ours_text", "markdown", "write"]
