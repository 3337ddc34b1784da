"""Publishing a day's alert digest: build it, keep it as a file, send it, record it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from meta_agent.ops import alerts


@dataclass
class Published:
    digest: alerts.Digest
    path: Path
    sent_to: list[str]
    errors: list[str]


def publish_digest(engine: sa.Engine, notifier, day: date, directory: Path) -> Published:
    """The digest of ``day`` written to ``directory/digest-DAY.md``, sent on every channel of
    ``notifier`` and recorded in ``alert_digests`` (replacing an earlier one: idempotent)."""
    with engine.connect() as conn:
        digest = alerts.build_digest(conn, day)
    path = Path(directory) / f"digest-{day.isoformat()}.md"
    path.write_text(digest.markdown + "\n", encoding="utf-8")
    sent_to, errors = alerts.send_digest(notifier, digest)
    with engine.begin() as conn:
        alerts.write_digest(conn, digest, str(path), sent_to, errors)
    return Published(digest, path, sent_to, errors)
