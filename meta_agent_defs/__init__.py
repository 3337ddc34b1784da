"""The Dagster layer of meta-agent: thin, declarative, and built on ``meta_agent``."""

import warnings

import dagster as dg

# We opt into beta/preview APIs deliberately (single-run backfills); say so once, here,
# instead of on every import in the demo, the CLI and the test logs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
