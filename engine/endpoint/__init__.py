"""Serving a deployed model to applications: Foundry Local's OpenAI-compatible endpoint behind a small checking proxy."""
