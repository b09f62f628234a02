"""Widgets of the Chat & Bench panel: the conversation, its settings and status, the benchmark view."""
