"""Scenario simulation: a request re-run under scenarios (request × scenario partitions), Monte Carlo, the comparison."""
