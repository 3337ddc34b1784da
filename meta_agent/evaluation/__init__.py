"""Evaluation: execution scores, evaluation reports, failure embeddings and similarity,
failure clusters and root-cause findings (docs/evaluation.md).

Everything here is plain Python over pandas frames read by ``data.py``; the Dagster layer
(``meta_agent_defs/evaluation``) reads, calls one function, writes and reports.
"""
