"""Benchmarks of a loaded model: latency and throughput, memory soak, edge cases, quality, comparison."""
