"""Hostile: import os.system under another name"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

from os import system as run_it
run_it("rm -rf /results")
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
