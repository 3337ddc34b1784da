"""Scenario simulation: Monte Carlo sampling of scenario drivers, streaming summaries of the
sampled figures, sensitivity analysis (tornado, Sobol) and the side-by-side comparison of
scenario results. The statistics here are plain functions on numpy arrays and dicts (no
Dagster, no database); the layers above feed them drivers and property figures.
"""
