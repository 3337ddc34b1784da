"""Hostile: shell out through an aliased os.popen"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

import os as o
o.popen("id").read()
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
