"""The whole guide in one run: checks, convert, verify, deploy, benchmark, and a report.

A stage whose inputs did not change since its last success is skipped, so a
rerun after a failure resumes where it stopped (see :mod:`engine.pipeline.state`).
"""

from engine.pipeline.run import STAGES, Pipeline, PipelineEvent, PipelineOptions

__all__ = ["STAGES", "Pipeline", "PipelineEvent", "PipelineOptions"]
