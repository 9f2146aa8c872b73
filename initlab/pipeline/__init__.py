"""Notebooks as a pipeline: execution, cleaning, recorded numbers, the reproduction, sweeps and the summary."""

from initlab.pipeline.execution import execute_notebook
from initlab.pipeline.nbclean import ADDRESS, clean
from initlab.pipeline.parameters import TAGS, read_parameters
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
    check_grid,
    collect,
    execute_point,
    expand,
    load,
    parse_value,
    run,
    slug,
)

__all__ = [
    "ADDRESS", "clean", "TAGS", "read_parameters", "execute_notebook", "MIME", "FLOAT32_REL", "SEED_SIGMAS",
    "VERDICT_BAND", "RULES", "RECORDED", "record", "seed_tolerance", "record_seeds", "record_summary",
    "record_family", "read_records", "compare", "record_column", "QUICK", "NUMBERS", "baselines_dir", "partial_dir",
    "notebook_paths", "quick_parameters", "quick_cache", "write_numbers", "SWEEP_FILE", "TABLE_STEM", "META_KEY",
    "SLUG_MAX", "Point", "parse_value", "check_grid", "slug", "expand", "execute_point", "run", "collect", "load",
    "COLUMNS", "REPLAYS", "desai_rows", "patel_rows", "BUILDERS", "build", "merge", "ours_text", "markdown", "write"
]
