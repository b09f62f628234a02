"""Names the engine and its worker processes agree on outside the event stream.

A leaf module: the job runner and the workers both import it, so neither
imports the other (a worker that imported the runner would load psutil and
the journal for nothing, and the two would grow into a cycle).
"""

PARENT_PID_ENV = "SLMOPS_PARENT_PID"  # set by engine.process.jobs.Job: the worker ends itself when this process is gone
PARTIAL_MARK = ".partial-"  # staging folders beside an output: .<name>.partial-XXXX, removed on failure
