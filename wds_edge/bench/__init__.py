"""Latency benchmarks: one model (`bench model`), the whole pipeline (`bench pipeline`),
and a side-by-side comparison with the PyTorch-eager baseline (`bench compare`).

Every report embeds :func:`environment_report`. Nothing here imports torch; the
PyTorch-eager baseline lives on the desktop side (``wds_edge_export.eager_baseline``) and the CLI
passes it to :func:`bench_compare`.
"""

from __future__ import annotations

from wds_edge.bench.compare import CompareResult, CompareRow, bench_compare
from wds_edge.bench.environment import environment_report, format_environment
from wds_edge.bench.model_bench import (
    ModelBenchResult,
    bench_backend,
    benchmark_model,
    count_onnx_gflops,
)
from wds_edge.bench.pipeline_bench import PIPELINE_STAGES, PipelineBenchResult, bench_pipeline
from wds_edge.bench.report import rows_table, write_bar_plot, write_report_json, write_rows_csv
from wds_edge.bench.stats import LatencyStats, StageRecorder, summarize_ms, time_calls_ms

__all__ = [
    "CompareResult",
    "CompareRow",
    "bench_compare",
    "environment_report",
    "format_environment",
    "ModelBenchResult",
    "bench_backend",
    "benchmark_model",
    "count_onnx_gflops",
    "PIPELINE_STAGES",
    "PipelineBenchResult",
    "bench_pipeline",
    "rows_table",
    "write_bar_plot",
    "write_report_json",
    "write_rows_csv",
    "LatencyStats",
    "StageRecorder",
    "summarize_ms",
    "time_calls_ms",
]
