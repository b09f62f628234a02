"""What the benchmark scripts share: the results envelope, models and conversions, fresh processes, pairs."""
