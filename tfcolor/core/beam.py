"""What every Apache Beam pipeline of tfcolor shares (data_prep --runner=beam, colorize --runner=beam).

Runner: the user's ``--runner`` in ``--beam_pipeline_options`` (DataflowRunner, FlinkRunner,
SparkRunner...), else Beam's in-process FnApiRunner with ``direct_num_workers`` worker
processes. Beam's DirectRunner is not the default because it now hands pipelines to the Prism
runner, which downloads a binary when it starts (and fails offline).
"""

import shlex

MISSING = "--runner=beam needs Apache Beam: pip install 'tfcolor[beam]' (or apache-beam)"


def pipeline_options(beam_options, num_workers):
    """(PipelineOptions, runner or None): the user's options; without a --runner there, the
    FnApiRunner with ``num_workers`` processes (``direct_num_workers`` of the options wins)."""
    from apache_beam.options.pipeline_options import (DirectOptions, PipelineOptions, StandardOptions,
                                                      WorkerOptions)

    given = shlex.split(beam_options or "")
    options = PipelineOptions(given)
    if options.view_as(StandardOptions).runner:
        return options, None
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    def unset(name):
        return not any(arg.startswith(f"--{name}") for arg in given)

    direct = options.view_as(DirectOptions)
    if unset("direct_num_workers"):
        direct.direct_num_workers = max(1, num_workers)
    if unset("default_sdk_harness_log_level"):
        options.view_as(WorkerOptions).default_sdk_harness_log_level = "WARNING"
    if unset("direct_running_mode"):
        direct.direct_running_mode = "multi_processing" if direct.direct_num_workers > 1 else "in_memory"
    return options, FnApiRunner()
