"""Widgets of the panels, one module each."""
