"""Widgets of the Cache panel: the cache table, the entry's detail and runtime settings, serving."""
