"""Hostile: silence bandit with nosec and write to /tmp"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

STAGING = "/tmp/staging.csv"  # nosec
call_tool("calculate_dscr", noi=1.0, debt_service=1.0)  # nosec B108
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
