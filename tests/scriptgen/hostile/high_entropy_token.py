"""Hostile: a random token under an innocent name"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

x = "q8Zr3LmP0xT7vN2kW9sB4yH6dF1gJ5"
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
