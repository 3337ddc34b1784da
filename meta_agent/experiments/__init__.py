"""Experiments (issue 13): assignment, statistics, …

``assignment`` puts units (conversations, users, runs) into arms deterministically and
stickily, bit-for-bit as GrowthBook's SDKs do, so an experiment configured in GrowthBook and
one analysed here agree on who was in which arm.
"""
