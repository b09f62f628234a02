"""Widgets: one package per panel or screen (cache, convert, chat, tune); the shared ones here."""
