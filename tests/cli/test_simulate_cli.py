"""``meta-agent simulate``: scenarios list/validate/add with --json; every malformed scenario
(unknown driver, impossible distributions, a correlation matrix that is not positive
semi-definite, a YAML error) prints its one sentence, exits 2 and stores nothing — not the
scenario, not the request."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from meta_agent.cli import main
from meta_agent.store.engine import engine_for
from meta_agent.store.schema_scripts import script_requests
from meta_agent.store.schema_simulation import scenarios

GOOD = "scenario:\n  name: Mild\n  parameters: {noi_multiplier: 0.95}\n  expected_outcome: {dscr_range: [1.2, 2]}\n"
MC = """scenario:
  name: MC
  monte_carlo:
    iterations: 1000
    distributions:
      noi_multiplier: {{dist: normal, mean: 1.0, sd: 0.1}}
      interest_rate_shift_bps: {{dist: uniform, low: 0, high: 300}}
      value_multiplier: {{dist: uniform, low: 0.8, high: 1.0}}
    correlations:
{correlations}
"""
BAD = {
    "unknown_driver": ("scenario:\n  name: X\n  parameters: {noi_multipler: 0.8}\n",
                       ["line 3", "scenario.parameters.noi_multipler", "did you mean noi_multiplier"]),
    "sd_negative": ("scenario:\n  name: X\n  monte_carlo:\n    iterations: 10\n    distributions:\n"
                    "      noi_multiplier: {dist: normal, mean: 1.0, sd: -0.1}\n",
                    ["line 6", "sd", "-0.1"]),
    "low_above_high": ("scenario:\n  name: X\n  monte_carlo:\n    iterations: 10\n    distributions:\n"
                       "      noi_multiplier: {dist: uniform, low: 1.2, high: 0.8}\n",
                       ["line 6", "low", "high"]),
    "not_psd": (MC.format(correlations="      - {between: [noi_multiplier, interest_rate_shift_bps], rho: 0.9}\n"
                                       "      - {between: [noi_multiplier, value_multiplier], rho: 0.9}\n"
                                       "      - {between: [interest_rate_shift_bps, value_multiplier], rho: -0.9}\n"),
                ["correlation", "positive semi-definite", "eigenvalue"]),
    "yaml_error": ("scenario:\n  name: X\n  parameters: {noi_multiplier: 0.8\n", ["line"]),
}


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stored(url: str) -> tuple[int, int]:
    with engine_for(url).connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(scenarios)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(script_requests)).scalar_one())


@pytest.fixture
def folder(tmp_path, monkeypatch):
    d = tmp_path / "scenarios"
    d.mkdir()
    (d / "mild.yaml").write_text(GOOD)
    monkeypatch.setenv("META_AGENT_SCENARIOS_DIR", str(d))
    return d


def test_list_validate_add_json(ops_env, folder, tmp_path, capsys):
    code, out, _ = run(capsys, "simulate", "scenarios", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and [s["key"] for s in doc["scenarios"]] == ["mild"] and doc["rejected"] == []
    assert doc["scenarios"][0]["expected_outcome"] == {"dscr_range": [1.2, 2.0]}
    extra = tmp_path / "rates_up.yaml"
    extra.write_text("scenario:\n  name: Rates up\n  parameters: {interest_rate_shift_bps: 200}\n")
    code, out, _ = run(capsys, "simulate", "scenarios", "validate", str(extra), "--json")
    assert code == 0 and json.loads(out)["drivers"] == "floating rates +200 bp"
    assert stored(ops_env)[0] == 1  # validate stores nothing
    code, out, _ = run(capsys, "simulate", "scenarios", "add", str(extra), "--json")
    assert code == 0 and json.loads(out)["key"] == "rates_up" and stored(ops_env)[0] == 2
    code, out, _ = run(capsys, "simulate", "scenarios", "list", "--json")
    assert {s["key"] for s in json.loads(out)["scenarios"]} == {"mild", "rates_up"}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_malformed_scenario_prints_its_sentence_and_stores_nothing(case, ops_env, folder, tmp_path, capsys):
    text, expected = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    before = stored(ops_env)
    for args in (("simulate", "scenarios", "validate", str(path)), ("simulate", "scenarios", "add", str(path)),
                 ("simulate", "run", "DSCR for all properties", "--scenario", "mild", "--scenario", str(path))):
        code, out, err = run(capsys, *args)
        assert code == 2 and out == ""
        assert err.startswith(f"meta-agent: {path}") and all(e in err for e in expected), err
        assert len(err.strip().splitlines()) == 1  # one sentence, no traceback
    assert stored(ops_env) == before  # no scenario, no request


def test_a_bad_file_in_the_folder_is_listed_as_rejected_and_the_others_still_sync(ops_env, folder, capsys):
    (folder / "broken.yaml").write_text(BAD["unknown_driver"][0])
    code, out, _ = run(capsys, "simulate", "scenarios", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and [s["key"] for s in doc["scenarios"]] == ["mild"]
    (rejected,) = doc["rejected"]
    assert "broken.yaml, line 3" in rejected


def test_run_names_unknown_keys_missing_files_and_duplicates(ops_env, folder, tmp_path, capsys):
    code, _, err = run(capsys, "simulate", "run", "DSCR", "--scenario", "ghost")
    assert code == 2 and "scenario 'ghost' is not known" in err and "scenarios add" in err
    code, _, err = run(capsys, "simulate", "run", "DSCR", "--scenario", str(tmp_path / "nope.yaml"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "simulate", "run", "DSCR", "--scenario", "mild", "--scenario", str(folder / "mild.yaml"))
    assert code == 2 and "more than once" in err
    assert stored(ops_env)[1] == 0


def test_compare_without_runs_is_a_clear_error(ops_env, folder, capsys):
    code, _, err = run(capsys, "simulate", "compare", "req-20260101-000000-abcdef")
    assert code == 2 and "no script request 'req-20260101-000000-abcdef'" in err
