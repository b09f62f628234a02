"""Names the engine and its worker processes agree on outside the event stream.

A leaf module: the job runner and the workers both import it, so neither
imports the other (a worker that imported the runner would load psutil and
the journal for nothing, and the two would grow into a cycle).
"""

import glob
import uuid
from pathlib import Path

PARENT_PID_ENV = "SLMOPS_PARENT_PID"  # set by engine.process.jobs.Job: the worker ends itself when this process is gone
PARTIAL_MARK = ".partial-"  # staging folders beside an output: .<name>.partial-<run>-XXXX, removed on failure


def new_run() -> str:
    """An id for one run into an output: its staging folders carry it, so that cleaning up after one run never
    touches another's (two runs into the same output, one failing while the other works)."""
    return uuid.uuid4().hex[:12]


def staging_prefix(output: Path, run: str) -> str:
    """The name start of a staging or scratch folder of ``run`` beside ``output`` (for tempfile.mkdtemp)."""
    return f".{output.name}{PARTIAL_MARK}{run}-"


def partials_glob(output: Path, run: str) -> str:
    """Every staging and scratch folder ``run`` makes beside ``output``, and no other run's."""
    return str(Path(glob.escape(str(output.parent))) / (glob.escape(staging_prefix(output, run)) + "*"))


# How a perplexity is scored (the ``method`` of a ``perplexity`` call). The two give slightly different figures
# (different kernels), so two perplexities are compared only when scored the same way; token by token is the
# one every model allows (a model built with prune_lm_head gives only the last position's logits from a prompt).
ONE_PASS, TOKEN_BY_TOKEN = "one pass", "token by token"
PERPLEXITY_METHODS = (TOKEN_BY_TOKEN, ONE_PASS)
