"""Hostile: climb frames from a generator to reach globals"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

def gen():
    yield 1

g = gen()
frame_globals = g.gi_frame.f_back.f_globals
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
