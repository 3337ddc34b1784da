"""The secret scan: every hostile case gives its rule, no benign literal gives a hit.

Corpora are data files: ``secrets/cases.py`` (name, snippet, expected rule) and
``secrets/benign.txt`` (one literal per line, grouped under ``# `` headers).
"""

from __future__ import annotations

import ast
import hashlib
import random
import runpy
import string
from pathlib import Path

import pytest

from meta_agent.scriptgen.secret_scan import (
    FIX,
    SecretHit,
    looks_random,
    scan_source,
    shannon_entropy,
)

CORPORA = Path(__file__).with_name("secrets")
BENIGN_FILE = CORPORA / "benign.txt"
# Loaded by path: the directory has no __init__.py, so it never shadows the stdlib ``secrets``.
CASES: list[tuple[str, str, str]] = runpy.run_path(str(CORPORA / "cases.py"))["CASES"]


def benign_literals() -> list[str]:
    lines = BENIGN_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("# ")]


def scan(source: str) -> list[SecretHit]:
    return scan_source(source, ast.parse(source))


def test_the_corpora_are_large_enough():
    assert len(CASES) >= 60 and len({name for name, _, _ in CASES}) == len(CASES)
    assert len(benign_literals()) >= 300


@pytest.mark.parametrize(("name", "snippet", "rule"), CASES, ids=[c[0] for c in CASES])
def test_hostile_case_gives_its_rule(name, snippet, rule):
    hits = scan(snippet)
    assert rule in {h.rule for h in hits}, (name, [(h.rule, h.message) for h in hits])
    for h in hits:
        assert h.line >= 1 and h.rule in ("hardcoded-secret", "high-entropy-string")
        assert FIX in h.message


@pytest.mark.parametrize("literal", benign_literals())
def test_benign_literal_gives_no_hit(literal):
    hits = scan(f"x = {literal!r}\n")
    assert hits == [], [(h.rule, h.message) for h in hits]


def _secret_values(snippet: str) -> list[str]:
    """The long literal pieces of a snippet (what a message must never echo whole)."""
    out = []
    for node in ast.walk(ast.parse(snippet)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes) and len(node.value) >= 12:
            value = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            if not value.isidentifier():  # a key name such as "Authorization" may be named
                out.append(value)
    return out


@pytest.mark.parametrize(("name", "snippet", "rule"), CASES, ids=[c[0] for c in CASES])
def test_messages_name_the_find_and_never_echo_the_secret(name, snippet, rule):
    for h in scan(snippet):
        for value in _secret_values(snippet):
            # at most the first 4 characters of anything secret are shown
            for i in range(len(value) - 8):
                assert value[i:i + 9] not in h.message, (name, h.message)


def test_a_stripe_key_message_names_it_and_the_fix():
    [hit] = scan('k = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"\n')
    assert hit.rule == "hardcoded-secret" and hit.line == 1
    assert "a Stripe live secret key" in hit.message and "'sk_l…'" in hit.message
    assert "assembled from constant pieces" in hit.message
    assert hit.message.endswith("read it from the environment of the service that needs it; "
                                "scripts never carry credentials")


def test_folded_hits_are_reported_on_the_line_of_the_expression():
    source = 'A = "AKIA"\nB = "IOSFODNN7EXAMPLE"\n\n\nk = f"{A}{B}"\n'
    assert [(h.line, h.rule) for h in scan(source)] == [(5, "hardcoded-secret")]


def test_a_bare_sha256_digest_is_not_a_key_but_under_a_secret_name_it_is():
    digest = hashlib.sha256(b"portfolio").hexdigest()
    assert scan(f"x = {digest!r}\n") == []
    assert {h.rule for h in scan(f"api_key = {digest!r}\n")} == {"hardcoded-secret"}


def test_random_tokens_are_caught_under_any_name_and_fingerprints_are_not():
    # Seeded, so the test cannot flake: about 0.2 % of random 32-character tokens read like words
    # to the entropy rule (measured over 9,000); the bound below leaves room for that and no more.
    rng = random.Random(20261201)
    urlsafe = string.ascii_letters + string.digits + "-_"
    tokens = ["".join(rng.choice(urlsafe) for _ in range(32)) for _ in range(1000)]
    tokens += ["".join(rng.choice("0123456789abcdef") for _ in range(40)) for _ in range(1000)]
    missed = [t for t in tokens if "high-entropy-string" not in {h.rule for h in scan(f"x = {t!r}\n")}]
    assert len(missed) <= 10, missed
    for i in range(300):
        fingerprint = hashlib.sha256(str(i).encode()).hexdigest()[:24]
        run_id = hashlib.sha256(str(i).encode()).hexdigest()[:12]
        assert scan(f"x = {fingerprint!r}\ny = {run_id!r}\n") == [], fingerprint


def test_placeholders_in_urls_and_assignments_are_not_secrets():
    assert scan('u = "postgresql://user:{password}@db/x"\n') == []
    assert scan('password = "<your-password>"\n') == []
    assert scan('token = "${TOKEN}"\n') == []


def test_hostile_folding_is_bounded():
    assert scan('x = "a" * 10**9\n') == []
    assert scan('x = "ab" * 10**9 + "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\n')[0].rule == "hardcoded-secret"
    assert scan('x = 2 ** 10 ** 10\ny = "%*s" % (10**9, "a")\nz = "{:>1000000000}".format("a")\n') == []
    assert scan('x = "".join("a" for _ in range(10**9))\ny = bytes(10**9)\n') == []
    assert scan('x = "a" * 9999 * 9999\nw = "ab".replace("a", "a" * 9000) * 2\n') == []


def test_deep_nesting_is_bounded():
    deep = "(" * 150 + '"sk_live_"' + ")" * 150
    hits = scan(f'x = {deep} + "4eC39HqLyjWDarjtT1zdp7dc"\n')
    assert {h.rule for h in hits} == {"hardcoded-secret"}
    chain = " + ".join(['"a"'] * 800)
    assert scan(f"x = {chain}\n") == []
    calls = "str(" * 90 + '"x"' + ")" * 90
    assert scan(f"x = {calls}\n") == []


def test_without_a_tree_only_formats_are_scanned():
    hits = scan_source('x = "AKIAIOSFODNN7EXAMPLE"  # and q8Zr2LmX0vTg7KpWn4YbHs9D\n')
    assert [h.rule for h in hits] == ["hardcoded-secret"]


def test_entropy_helpers_keep_their_interface():
    assert shannon_entropy("") == 0.0 and shannon_entropy("abab") == 1.0
    random_like, h = looks_random("q8Zr2LmX0vTg7KpWn4YbHs9D")
    assert random_like and h > 4
    assert looks_random("X-GitHub-Api-Version") == (False, shannon_entropy("X-GitHub-Api-Version"))
