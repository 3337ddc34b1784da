"""Files people open: generated scripts, run results, charts, digests, reports."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class ArtifactStore(dg.ConfigurableResource):
    """The artifacts directory, bound to ``META_AGENT_ARTIFACTS`` (default
    ``$DAGSTER_HOME/artifacts``). Paths are recorded in the ops DB and in asset metadata."""

    root: str

    def dir(self, *parts: str) -> Path:
        """``root/parts…``, created when missing."""
        path = Path(self.root).joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path
