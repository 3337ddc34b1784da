"""Hostile: embed a private key"""
import json
import logging
import os
from pathlib import Path

from meta_agent.tools import call_tool

PARAMS_FILE = Path(os.environ["META_AGENT_PARAMS"])
RESULTS_DIR = Path(os.environ["META_AGENT_RESULTS_DIR"])
log = logging.getLogger("script")
params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))

pem = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA7bq2Yc1eXz2c6vJ8Xq6y8o0bW6p8Hn1Ck3xV9Gd2s5Xh7ZL0
-----END RSA PRIVATE KEY-----"""
(RESULTS_DIR / "result.json").write_text(json.dumps({"status": "ok"}))
