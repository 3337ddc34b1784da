"""The script-language corpus: every hostile script is rejected with its rules, every benign
one (hand-written and every template rendering) passes with zero findings and runs under the
runtime guard.

Hostile: tests/scriptgen/corpus/hostile/*.py, expectations in corpus/hostile_expected.py
(file stem -> category and the rules that must be among ``report.rules``). Benign:
tests/scriptgen/corpus/benign/*.py and ``meta_agent.scriptgen.corpus.template_scripts()``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from meta_agent.scriptgen.corpus import template_scripts
from meta_agent.scriptgen.validator import validate_file, validate_script
from meta_agent.tools import guard, language, outputs

CORPUS = Path(__file__).with_name("corpus")
HOSTILE = CORPUS / "hostile"
BENIGN = CORPUS / "benign"
CATEGORIES = ("module-hop", "rebinding", "paths", "introspection", "secrets", "dos", "other")
SCANNER_RULES = {"hardcoded-secret", "high-entropy-string", "nosec-comment"}
# What every benign script runs with (each reads what it needs with params.get and a default).
BENIGN_PARAMS = {"year": 2024, "city": "Houston", "property_type": "office", "threshold": 1.25,
                 "discount_rate": 0.08, "top_n": 5, "entity_ids": ["P-001", "P-002", "P-003"],
                 "group_by": "property_type"}


def _expected():
    spec = importlib.util.spec_from_file_location("hostile_expected", CORPUS / "hostile_expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXPECTED, module.KNOWN_GAPS


EXPECTED, KNOWN_GAPS = _expected()
BENIGN_FILES = sorted(BENIGN.glob("*.py"))
TEMPLATES = template_scripts()


def _hostile_params():
    for stem in sorted(EXPECTED):
        marks = [pytest.mark.xfail(strict=True, reason=f"validator gap: {KNOWN_GAPS[stem]}")] \
            if stem in KNOWN_GAPS else []
        yield pytest.param(stem, id=stem, marks=marks)


# ------------------------------------------------------------------ sizes and coverage

def test_the_hostile_corpus_covers_every_category_with_at_least_five_scripts():
    files = {p.stem for p in HOSTILE.glob("*.py")}
    assert files == set(EXPECTED), "every hostile file needs an expectation (and vice versa)"
    assert len(files) >= 80
    per_category = Counter(category for category, _ in EXPECTED.values())
    assert set(per_category) == set(CATEGORIES), per_category
    assert all(per_category[c] >= 5 for c in CATEGORIES), per_category
    assert set(KNOWN_GAPS) <= set(EXPECTED)


def test_every_hostile_script_is_otherwise_in_the_language():
    """Same frame everywhere (docstring naming the category, the tools import, def run), so a
    rejection is for the hostile lines, not for a missing prologue."""
    for stem, (category, rules) in EXPECTED.items():
        source = (HOSTILE / f"{stem}.py").read_text(encoding="utf-8")
        assert source.startswith(f'"""{category}: '), stem
        assert "from meta_agent.tools import " in source and "def run(params, result):" in source, stem
        assert rules and rules <= set(language.FIXES), (stem, rules)


def test_the_benign_corpus_has_at_least_fifty_hand_written_scripts():
    assert len(BENIGN_FILES) >= 50


# ------------------------------------------------------------------ hostile

@pytest.mark.parametrize("stem", list(_hostile_params()))
def test_hostile_script_is_rejected_with_its_rules(stem):
    category, rules = EXPECTED[stem]
    report = validate_file(HOSTILE / f"{stem}.py")
    assert not report.valid, f"{stem} ({category}) was accepted"
    missing = rules - report.rules
    assert not missing, f"{stem}: expected {sorted(rules)}, got {sorted(report.rules)}"
    lines = len((HOSTILE / f"{stem}.py").read_text(encoding="utf-8").splitlines())
    for finding in report.errors:
        assert 1 <= finding.line <= max(lines, 1), finding
        assert finding.rule in language.FIXES or finding.rule in SCANNER_RULES, finding
        assert finding.fix.strip() and finding.message.strip(), finding


# ------------------------------------------------------------------ benign

@pytest.mark.parametrize("path", BENIGN_FILES, ids=[p.stem for p in BENIGN_FILES])
def test_benign_script_validates_with_no_findings(path):
    report = validate_file(path)
    assert report.findings == [], report.render(path.name)


@pytest.mark.parametrize("script", TEMPLATES, ids=[f"{t.name}-{t.fingerprint[:8]}" for t in TEMPLATES])
def test_template_script_validates_with_no_findings(script):
    report = validate_script(script.source)
    assert report.findings == [], report.render(script.name)


def test_no_false_positives_over_at_least_200_benign_scripts():
    sources = [p.read_text(encoding="utf-8") for p in BENIGN_FILES] + [t.source for t in TEMPLATES]
    flagged = [i for i, source in enumerate(sources) if validate_script(source).findings]
    assert len(sources) >= 200
    assert flagged == [], f"false positives: {len(flagged)} of {len(sources)}"


def run_in_process(source: str, name: str, tmp_path: Path, monkeypatch, params=None) -> tuple[int, dict]:
    """Run ``source`` under the guard in this process: fresh results directory, the parameters
    file, the output cache reset; returns (exit code, result.json)."""
    results = tmp_path / "results"
    results.mkdir()
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(BENIGN_PARAMS if params is None else params), encoding="utf-8")
    monkeypatch.setenv("META_AGENT_PARAMS", str(params_file))
    monkeypatch.setenv("META_AGENT_RESULTS_DIR", str(results))
    outputs._reset_cache()
    code = None
    try:
        guard.run_source(source, name)
    except SystemExit as exc:
        code = exc.code
    finally:
        outputs._reset_cache()
    return code, json.loads((results / "result.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", BENIGN_FILES, ids=[p.stem for p in BENIGN_FILES])
def test_benign_script_runs_under_the_guard(path, data_url, tmp_path, monkeypatch):
    code, result = run_in_process(path.read_text(encoding="utf-8"), path.name, tmp_path, monkeypatch)
    assert result["status"] in ("succeeded", "no_data"), result.get("error")
    assert code == 0
    written = {p.name for p in (tmp_path / "results").iterdir()}
    assert set(result["outputs"]) <= written, (result["outputs"], written)
    assert os.environ["META_AGENT_DATA_URL"] == data_url
