"""Widgets of the Convert panel: stages, log, result."""
