"""Secret scrubbing: applied to every string the SDK or ingest stores, before it is stored
(and, through ``PROVIDER_PATTERNS``, the script validator's secret scan).

Covers the key formats of the common providers, bearer tokens, JWTs, passwords in URLs,
``key=value`` pairs whose key names a secret, dict entries whose key names a secret, and
anything the caller registers (literal strings or regular expressions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

# (name, pattern) — the whole match is replaced unless the pattern has a group named "secret".
PROVIDER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("anthropic", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai", r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("github", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    ("slack", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("stripe", r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    ("huggingface", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("groq", r"\bgsk_[A-Za-z0-9]{40,}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("bearer", r"(?i)\b(?:bearer|token)\s+(?P<secret>[A-Za-z0-9._~+/=\-]{12,})"),
    ("url_password", r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:(?P<secret>[^\s@/]+)@"),
    (
        "assignment",
        r"(?i)(?:api[_\-]?key|secret(?:[_\-]?key)?|passw(?:or)?d|pwd|access[_\-]?token|auth[_\-]?token"
        r"|client[_\-]?secret)[\"']?\s*[:=]\s*[\"']?(?P<secret>[^\s\"',;&}]{4,})",
    ),
)

SECRET_KEY_NAMES = re.compile(
    r"(?i)^(?:.*[_\-])?(?:api[_\-]?key|apikey|secret|password|passwd|pwd|token|access[_\-]?token"
    r"|auth(?:orization)?|credentials?|private[_\-]?key|client[_\-]?secret)$"
)


def _combined(patterns) -> re.Pattern:
    """All patterns as one alternation (group names and global flags made local)."""
    parts = []
    for _, p in patterns:
        p = p.replace("(?P<secret>", "(")
        parts.append(f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})")
    return re.compile("|".join(parts))


_ANY_PROVIDER = _combined(PROVIDER_PATTERNS)


class Scrubber:
    """Replaces secrets in strings and nested JSON-like values with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = (), patterns: Iterable[str | re.Pattern] = ()):
        self._literals: list[str] = []
        self._extra: list[re.Pattern] = []
        self._compiled = [re.compile(p) for _, p in PROVIDER_PATTERNS]
        self._any = _ANY_PROVIDER
        self._cache: dict[str, str] = {}  # short strings (action names, error types) repeat a lot
        for s in secrets:
            self.register(s)
        for p in patterns:
            self.register_pattern(p)

    def register(self, secret: str) -> None:
        """Never store this literal value (e.g. a key the agent was configured with)."""
        if secret and len(secret) >= 4 and secret not in self._literals:
            self._literals.append(secret)
            self._literals.sort(key=len, reverse=True)  # longest first: no partial leftovers
            self._cache.clear()

    def register_pattern(self, pattern: str | re.Pattern) -> None:
        self._extra.append(re.compile(pattern) if isinstance(pattern, str) else pattern)
        self._cache.clear()

    def scrub_text(self, text: str) -> str:
        if not text:
            return text
        if len(text) <= 64:
            hit = self._cache.get(text)
            if hit is None:
                hit = self._cache[text] = self._scrub_text(text)
                if len(self._cache) > 4096:
                    self._cache.clear()
            return hit
        return self._scrub_text(text)

    def _scrub_text(self, text: str) -> str:
        for lit in self._literals:
            if lit in text:
                text = text.replace(lit, REDACTED)
        if self._any.search(text):  # one combined pass first: most strings hold no secret
            for rx in self._compiled:
                text = rx.sub(_replace, text)
        for rx in self._extra:
            text = rx.sub(_replace, text)
        return text

    def scrub(self, value: Any) -> Any:
        """Scrub a str, or a dict/list of them (dict entries named like secrets are redacted)."""
        if value is None:
            return None
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            return {
                k: (REDACTED if isinstance(k, str) and SECRET_KEY_NAMES.match(k) and v else self.scrub(v))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value


def _replace(match: re.Match) -> str:
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        whole_start = match.start()
        text = match.group(0)
        return text[: start - whole_start] + REDACTED + text[end - whole_start :]
    return REDACTED
