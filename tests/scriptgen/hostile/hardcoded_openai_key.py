"""Hostile: hard-code an OpenAI key"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

client_header = {"Authorization": "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"}
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
