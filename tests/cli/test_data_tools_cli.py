"""``meta-agent data`` and ``meta-agent tools``: one JSON document with --json, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meta_agent.cli import main
from meta_agent.portfolio import db as pdb

BIN = Path(sys.executable).parent / "meta-agent"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'portfolio.db'}"
    monkeypatch.setenv("META_AGENT_DATA_URL", url)
    yield url
    pdb.dispose()


def test_data_seed_and_show_json(data_url, capsys):
    code, out, err = run(capsys, "data", "seed", "--properties", "12", "--seed", "3", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["properties"] == 12 and doc["seed"] == 3 and err == ""
    code, out, _ = run(capsys, "data", "show", "--json")
    show = json.loads(out)
    assert code == 0 and show["properties"] == 12 and len(show["rows"]) == 12 and show["info"]["seed"] == "3"


def test_data_show_human(data_url, capsys):
    run(capsys, "data", "seed")
    code, out, _ = run(capsys, "data", "show")
    assert code == 0 and "P-001" in out and "DSCR" in out


def test_data_show_without_a_database_explains_the_fix(data_url, capsys):
    code, out, err = run(capsys, "data", "show", "--json")
    assert code == 2 and out == "" and "meta-agent data seed" in err


@pytest.mark.parametrize("args", [["--properties", "0"], ["--properties", "abc"], ["--seed", "x"]])
def test_data_seed_rejects_bad_options(data_url, capsys, args):
    code, out, err = run(capsys, "data", "seed", *args, "--json")
    assert code == 2 and out == "" and err


def test_data_seed_rejects_a_bad_url(capsys):
    code, out, err = run(capsys, "data", "seed", "--url", "mysql://x/y", "--json")
    assert code == 2 and out == "" and "unsupported database 'mysql'" in err


def test_tools_list_search_show_json(capsys):
    code, out, _ = run(capsys, "tools", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["count"] >= 15 and {t["category"] for t in doc["tools"]} == {"database", "calculation", "data"}
    code, out, _ = run(capsys, "tools", "list", "--category", "calculation", "--json")
    assert {t["category"] for t in json.loads(out)["tools"]} == {"calculation"}
    code, out, _ = run(capsys, "tools", "search", "debt service coverage", "--json")
    assert code == 0 and json.loads(out)["matches"][0]["name"] == "calculate_dscr"
    code, out, _ = run(capsys, "tools", "show", "calculate_irr", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["function"]["name"] == "calculate_irr" and "cashflows" in doc["function"]["parameters"]["properties"]


def test_tools_errors(capsys):
    code, out, err = run(capsys, "tools", "show", "calculate_irrr", "--json")
    assert code == 2 and out == "" and "no tool named 'calculate_irrr'" in err and "calculate_irr" in err
    code, out, err = run(capsys, "tools", "list", "--category", "magic", "--json")
    assert code == 2 and out == "" and "database" in err
    code, out, err = run(capsys, "tools", "search", "  ", "--json")
    assert code == 2 and out == "" and "empty" in err


def test_console_script_prints_one_json_document(data_url):
    proc = subprocess.run([str(BIN), "tools", "list", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and json.loads(proc.stdout)["count"] >= 15
