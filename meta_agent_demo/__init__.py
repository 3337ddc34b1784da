"""``meta-agent demo``: the main jobs on the embedded default, one step per capability.

A package on top of both layers (the library and the Dagster code location), outside the
code location: it drives Dagster the way a user would — named jobs run on the instance at
``DAGSTER_HOME``, so every run, asset and check is in the UI afterwards.
"""
