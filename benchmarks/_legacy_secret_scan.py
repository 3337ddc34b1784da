"""Hard-coded secrets in script source: known key formats and high-entropy literals.

Key formats are the scrubber's (``meta_agent.records.scrub.PROVIDER_PATTERNS``), applied to
the whole source (comments included). High-entropy literals are found by Shannon entropy of
each token in each string literal, so a key in a variable called ``x`` is caught too — not
only names like ``api_key``.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from meta_agent.records.scrub import PROVIDER_PATTERNS, SECRET_KEY_NAMES

# Patterns that are about *where* a value sits (``password=...``) or about URLs are handled
# by the assignment check below; the rest are formats that are secret wherever they appear.
_FORMAT_PATTERNS = [(name, re.compile(p)) for name, p in PROVIDER_PATTERNS
                    if name not in ("assignment", "bearer")]
_BEARER = re.compile(dict(PROVIDER_PATTERNS)["bearer"])

_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_SHORT_HEX = re.compile(r"[0-9a-fA-F]{1,31}")
_TOKENISH = re.compile(r"[A-Za-z0-9+/=_\-.]{20,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_WORDY = re.compile(r"[a-z]+(?:[_\-.][a-z0-9]+)*")  # snake_case, file.names, dotted.paths
_CAMEL = re.compile(r"(?:[A-Z]?[a-z]+|[A-Z]+(?![a-z]))+[0-9]*")
_CAMEL_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_SPLIT = re.compile(r"[\s\"'`,;:()\[\]{}<>|@]+")


@dataclass(frozen=True)
class SecretHit:
    line: int
    rule: str  # "hardcoded-secret" | "high-entropy-string"
    message: str


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` (0 for empty)."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def looks_random(token: str) -> tuple[bool, float]:
    """Whether ``token`` looks like a generated key; returns (verdict, entropy)."""
    h = shannon_entropy(token)
    if _UUID.fullmatch(token) or _WORDY.fullmatch(token) or _is_camel_words(token):
        return False, h
    if _HEX.fullmatch(token):
        return h >= 3.0, h
    if _SHORT_HEX.fullmatch(token):
        # Hex keys are 32+ characters; shorter hex is a digest or an id — such as the 24-character
        # shape fingerprint every generated script carries, which the test below took for a key
        # about once in 30 shapes.
        return False, h
    if not _TOKENISH.fullmatch(token):
        return False, h
    classes = sum(bool(re.search(p, token)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if classes < 2:
        return False, h
    # A random string of n characters over ~64 symbols has entropy close to log2(n) for short
    # n and approaches ~5.5-6 for long ones; people-made strings sit well below.
    threshold = min(4.2, 0.82 * math.log2(len(token)))
    return h >= threshold, h


def scan_source(source: str, tree: ast.AST | None = None) -> list[SecretHit]:
    """Every secret-looking thing in ``source`` (line numbers are 1-based)."""
    hits: list[SecretHit] = []
    seen: set[tuple[int, str]] = set()

    def add(line: int, rule: str, message: str) -> None:
        if (line, message) not in seen:
            seen.add((line, message))
            hits.append(SecretHit(line, rule, message))

    for name, rx in [*_FORMAT_PATTERNS, ("bearer token", _BEARER)]:
        for m in rx.finditer(source):  # whole source: a PEM key spans lines
            lineno = source.count("\n", 0, m.start()) + 1
            add(lineno, "hardcoded-secret", f"a credential ({name.replace('_', ' ')}) is written in the source")
    if tree is None:
        return hits
    for line, value in _string_literals(tree):
        for token in _SPLIT.split(value):
            if len(token) < 20:
                continue
            random_like, h = looks_random(token)
            if random_like:
                add(line, "high-entropy-string",
                    f"a {len(token)}-character literal with entropy {h:.2f} bits/char looks like a key or token")
    for line, name in _secret_named_assignments(tree):
        add(line, "hardcoded-secret", f"'{name}' is assigned a literal; credentials never belong in a script")
    return sorted(hits, key=lambda h: (h.line, h.rule))


def _is_camel_words(token: str) -> bool:
    """``ThisIsAName2024``: words of people-made length, not ``kQwErTyUi`` (random letters)."""
    if not _CAMEL.fullmatch(token):
        return False
    words = _CAMEL_WORD.findall(token)
    vowels = set("aeiouyAEIOUY")
    wordlike = all(vowels & set(w) for w in words if len(w) >= 3 and not w.isupper())
    return wordlike and sum(map(len, words)) / len(words) >= 3.5


def _string_literals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                yield node.lineno, node.value
            elif isinstance(node.value, bytes):
                yield node.lineno, node.value.decode("latin-1")


def _secret_named_assignments(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``api_key = "..."``, ``{"password": "..."}``, ``f(token="...")`` with a literal value."""

    def literal(v: ast.AST) -> bool:
        return isinstance(v, ast.Constant) and isinstance(v.value, str | bytes) and len(v.value) >= 4

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and literal(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
                if name and SECRET_KEY_NAMES.match(name):
                    yield node.lineno, name
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (isinstance(k, ast.Constant) and isinstance(k.value, str)
                        and SECRET_KEY_NAMES.match(k.value) and literal(v)):
                    yield k.lineno, k.value
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg and SECRET_KEY_NAMES.match(kw.arg) and literal(kw.value):
                    yield kw.value.lineno, kw.arg
