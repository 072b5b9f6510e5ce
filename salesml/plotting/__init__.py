"""Figures: pure functions that take analysis results and return plotly figures.

One module per domain (``pipeline``, ``cac``, ``health``); no analytics are computed here.
"""
