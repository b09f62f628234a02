"""Names the engine and its worker processes agree on outside the event stream.

A leaf module: the job runner and the workers both import it, so neither
imports the other (a worker that imported the runner would load psutil and
the journal for nothing, and the two would grow into a cycle).
"""

PARENT_PID_ENV = "SLMOPS_PARENT_PID"  # set by engine.process.jobs.Job: the worker ends itself when this process is gone
PARTIAL_MARK = ".partial-"  # staging folders beside an output: .<name>.partial-XXXX, removed on failure

# How a perplexity is scored (the ``method`` of a ``perplexity`` call). The two give slightly different figures
# (different kernels), so two perplexities are compared only when scored the same way; token by token is the
# one every model allows (a model built with prune_lm_head gives only the last position's logits from a prompt).
ONE_PASS, TOKEN_BY_TOKEN = "one pass", "token by token"
PERPLEXITY_METHODS = (TOKEN_BY_TOKEN, ONE_PASS)
