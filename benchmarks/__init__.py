"""Benchmark scripts, each run as ``python -m benchmarks.<script>`` from the repository's root.

Every script takes ``--quick`` (the demo model, a few minutes) and ``--json``, and writes its raw results
(every run of every side, the machine, the toolchain, the command line) to
``benchmarks/results/<script>-<model>.json``; ``python -m benchmarks.readme`` renders the README's
performance tables from those files. Shared pieces live in ``benchmarks/lib``.
"""
