"""Improvement (issue 12): findings become specific, quantified proposals; people (or rules)
approve them; approved prompt changes land in the prompt registry as ``candidate``; what was
learned is kept in a knowledge base.

- ``model``: the ``Proposal`` a generator returns and the store keeps (the contract between
  the pieces below);
- ``prompts``: the prompt registry — versions, diffs, labels (``meta_agent.sdk.prompts``
  reads it from agents, cached, fail-open);
- ``proposals`` / ``quantify`` / ``prompt_edits``: proposals from root-cause findings and
  evaluation reports, each with its expected effect and interval computed from executions;
- ``workflow`` / ``approvals``: the states and the audit trail, the one ``decide`` function the
  CLI and the Dagster Launchpad job both call, the auto-approval rules of
  ``config/approvals.yaml``, and applying an approved proposal;
- ``knowledge``: learnings with confidence that rises on confirmation and decays with age;
- ``pipeline``: what each Dagster asset and CLI command calls.
"""
