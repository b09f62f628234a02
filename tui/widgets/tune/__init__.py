"""Widgets of the recipe tuner's screen: the candidates' table and chart."""
