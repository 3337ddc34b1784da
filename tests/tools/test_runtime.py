"""The script runtime (meta_agent/tools/runtime.py): run_script with good and malformed parameters.

run_script is the entry point every generated script ends with; a parameters file that is
missing, not JSON or not an object must give a result.json that says so (status failed,
exit code 2), never a traceback without a result.
"""

from __future__ import annotations

import json

import pytest

from meta_agent.tools.base import CalculationError, ToolInputError
from meta_agent.tools.runtime import EXIT_FAILED, NoData, power, run_script, write_json


def one_row(params, result):
    return [{"property_id": "P-001", "x": params.get("x")}], None


def finish(run, results, key_figures=None):
    with pytest.raises(SystemExit) as exc:
        run_script(run, key_figures, steps=1)
    return exc.value.code, json.loads((results / "result.json").read_text(encoding="utf-8"))


def test_a_run_writes_result_json_with_its_rows_and_figures(results, tmp_path, monkeypatch):
    params = tmp_path / "params.json"
    params.write_text('{"x": 2}', encoding="utf-8")
    monkeypatch.setenv("META_AGENT_PARAMS", str(params))
    code, out = finish(one_row, results, lambda rows, summary, p: {"n": len(rows)})
    assert code == 0 and out["status"] == "succeeded" and out["rows"] == 1
    assert out["key_figures"] == {"n": 1} and out["table"] == [{"property_id": "P-001", "x": 2}]


@pytest.mark.parametrize("content, needle", [
    ("{not json", "cannot be read"),
    ("[1, 2]", "holds a list, not a JSON object"),
])
def test_a_malformed_parameters_file_is_a_failed_result_naming_the_problem(results, tmp_path, monkeypatch,
                                                                           content, needle):
    params = tmp_path / "params.json"
    params.write_text(content, encoding="utf-8")
    monkeypatch.setenv("META_AGENT_PARAMS", str(params))
    code, out = finish(one_row, results)
    assert code == EXIT_FAILED and out["status"] == "failed" and needle in out["error"]


def test_no_parameters_variable_is_a_failed_result(results, monkeypatch):
    monkeypatch.delenv("META_AGENT_PARAMS", raising=False)
    code, out = finish(one_row, results)
    assert code == EXIT_FAILED and "META_AGENT_PARAMS is not set" in out["error"]


def test_no_data_is_a_valid_empty_answer(results, tmp_path, monkeypatch):
    params = tmp_path / "params.json"
    params.write_text("{}", encoding="utf-8")
    monkeypatch.setenv("META_AGENT_PARAMS", str(params))

    def nothing(params, result):
        raise NoData("no property matches")

    code, out = finish(nothing, results)
    assert code == 0 and out["status"] == "no_data" and out["message"] == "no property matches"


def test_write_json_takes_a_bare_name_and_not_result_json(results):
    assert write_json("extra.json", {"a": 1}) == "extra.json"
    assert json.loads((results / "extra.json").read_text(encoding="utf-8")) == {"a": 1}
    with pytest.raises(ToolInputError, match="written by run_script"):
        write_json("result.json", {})
    with pytest.raises(ToolInputError, match="bare file name"):
        write_json("../extra.json", {})


def test_power_is_bounded_and_matches_float_pow():
    assert power(1.08, 10) == pytest.approx(1.08**10)
    for base, exponent in ((10, 10**10), (10, 400), ("x", 2)):
        with pytest.raises(CalculationError):
            power(base, exponent)
