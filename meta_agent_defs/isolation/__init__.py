"""Isolation: where runs execute, which sandbox runner scripts get, and run-container cleanup."""
