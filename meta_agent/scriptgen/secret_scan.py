"""Hard-coded secrets in script source: known key formats and random-looking literals.

Three sources of text are scanned:

* the raw source, line by line semantics (comments included — a key in a comment is still
  leaked);
* every string/bytes literal (for random-looking tokens, and for formats hidden behind escapes);
* every string expression built only from constants, folded from the AST: concatenation,
  repetition, f-strings, ``join``, ``%``/``format``, module-level constants, ``bytes`` of int
  lists, XOR comprehensions, ``bytes.fromhex``/``b64decode``, slicing — so a key assembled from
  short pieces is scanned as the whole key. Folding is bounded (length, depth and a step budget)
  so a hostile ``"a" * 10**9`` cannot hang the validator.

Key formats come from detect-secrets' maintained plugins (AWS, Azure storage, basic-auth URLs,
Artifactory, Cloudant, Discord, GitHub, GitLab, IBM, JWT, Mailchimp, npm, OpenAI, PyPI,
SendGrid, Slack, Square, Stripe, Telegram, Twilio, private keys), called directly through
``analyze_string`` (no settings, baseline or verification machinery), plus our own patterns for
the formats it lacks (Sentry DSNs, DigitalOcean, Mailgun, DSN passwords with punctuation,
Anthropic/OpenAI project/Google/Hugging Face/Groq keys, Stripe test keys, bearer tokens).
detect-secrets' entropy and keyword plugins are not used: on our benign corpus they flag paths,
header names and digests. Our own entropy rule (``looks_random``) is tuned on that corpus
(``tests/scriptgen/secrets/benign.txt``).
"""

from __future__ import annotations

import ast
import base64
import binascii
import functools
import importlib
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from meta_agent.records.scrub import PROVIDER_PATTERNS, SECRET_KEY_NAMES

FIX = "read it from the environment of the service that needs it; scripts never carry credentials"


@dataclass(frozen=True)
class SecretHit:
    line: int
    rule: str  # "hardcoded-secret" | "high-entropy-string"
    message: str


# ---------------------------------------------------------------------------------------------
# Entropy rule
# ---------------------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID_HEX = re.compile(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", re.IGNORECASE)  # uuid.hex
_TOKENISH = re.compile(r"[A-Za-z0-9+/=_\-.~]{20,}")
_SPLIT = re.compile(r"[\s\"'`,;:()\[\]{}<>|@?&#!*$^\\]+")
_SEGMENT_SPLIT = re.compile(r"[-_./+=~]+")
_RUNS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_VOWELS = frozenset("aeiouyAEIOUY")
_VERSION_TAIL = re.compile(r"(?<=[a-z])[0-9]+[a-z][0-9]+$")
_CONSONANT_STREAK = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{5,}")
_DIGEST_HEX_LENGTHS = frozenset({64, 96, 128})  # sha256 / sha384 / sha512 hex digests
MIN_TOKEN = 20


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` (0 for empty)."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _wordlike_run(run: str, first: bool) -> bool:
    """One run of ``_RUNS``: a number, an acronym, or a pronounceable word."""
    if run.isdigit():
        return True
    if run.isupper() and len(run) <= 5:  # HTTP, SQL, JSON; a lone capital only leads (X-, S3)
        return len(run) > 1 or first
    if len(run) < 3:
        return False
    if len(run) == 3 and run[0].isupper() and run[1:].islower():
        return True  # a camel-cased acronym: Sql, Api, Xml
    return bool(_VOWELS & set(run)) and not _CONSONANT_STREAK.search(run)


def _human_segment(seg: str) -> bool:
    seg = _VERSION_TAIL.sub("0", seg)  # under17p0, py3k2: a version number, not noise
    if len(seg) <= 4 or seg.isdigit():
        return True
    if _HEX.fullmatch(seg) and (len(seg) < 32 or len(seg) in _DIGEST_HEX_LENGTHS):
        return True  # short hex ids (run ids, fingerprints) and digests
    runs = _RUNS.findall(seg)
    if sum(map(len, runs)) != len(seg):
        return False
    if len(seg) <= 6 and len(runs) <= 3:  # 2024Q3, v2beta
        return True
    good = sum(len(r) for i, r in enumerate(runs) if _wordlike_run(r, i == 0))
    return good / len(seg) >= 0.8 and len(seg) / len(runs) >= 3.0


def _sequential(token: str) -> bool:
    """``abcdefghijklmnopqrstuvwxyz0123456789``: an alphabet, not a key."""
    steps = sum(ord(b) - ord(a) == 1 for a, b in zip(token, token[1:], strict=False))
    return steps >= 0.6 * (len(token) - 1)


def _is_human(token: str) -> bool:
    """``X-GitHub-Api-Version``, ``dscr_by_property_type.xlsx``, ``DebtServiceCoverageRatio``:
    every separator-delimited segment made of words, numbers, acronyms or short hex ids."""
    segments = [s for s in _SEGMENT_SPLIT.split(token) if s]
    return bool(segments) and all(_human_segment(s) for s in segments)


def looks_random(token: str) -> tuple[bool, float]:
    """Whether ``token`` looks like a generated key; returns (verdict, entropy)."""
    h = shannon_entropy(token)
    if len(token) < MIN_TOKEN or _UUID.fullmatch(token):
        return False, h
    if _HEX.fullmatch(token):
        # Hex keys are 32+ characters. Shorter hex is an id (the 24-hex script fingerprint, the
        # 12-hex run id); 64/96/128 hex is a sha2 digest of data — a digest assigned to a
        # secret-named variable is still caught by the assignment rule.
        if len(token) < 32 or len(token) in _DIGEST_HEX_LENGTHS or _UUID_HEX.fullmatch(token):
            return False, h
        return h >= 3.0, h
    if not _TOKENISH.fullmatch(token) or _is_human(token) or _sequential(token):
        return False, h
    classes = sum(any(f(c) for c in token) for f in (str.islower, str.isupper, str.isdigit))
    if classes < 2:
        return False, h
    # A random string of n characters over ~64 symbols has entropy close to log2(n) for short
    # n and approaches ~5.5-6 for long ones; people-made strings sit well below.
    threshold = min(4.2, 0.82 * math.log2(len(token)))
    return h >= threshold, h


_B64_CHARS = frozenset(string.ascii_letters + string.digits + "+/-_=")


def _b64_text(token: str) -> str | None:
    """The text ``token`` decodes to, if it is base64 of printable ASCII (else None)."""
    if len(token) < 16 or not set(token) <= _B64_CHARS:
        return None
    body = token.rstrip("=")
    if "=" in body or len(body) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(body.replace("-", "+").replace("_", "/") + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    if not raw or not all(32 <= b < 127 or b in (9, 10, 13) for b in raw):
        return None
    return raw.decode("ascii")


# ---------------------------------------------------------------------------------------------
# Key formats
# ---------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"(?i)^(?:[{$<%*]|\*+$|x+$|\.\.\.|(?:your[_\-]?)?(?:pass(?:word)?|passwd|pwd|secret|changeme|"
    r"redacted|password123)$)"
)

_PLUGIN_CLASSES = (
    ("aws", "AWSKeyDetector"), ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"), ("artifactory", "ArtifactoryDetector"),
    ("cloudant", "CloudantDetector"), ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"), ("gitlab_token", "GitLabTokenDetector"),
    ("ibm_cloud_iam", "IbmCloudIamDetector"), ("ibm_cos_hmac", "IbmCosHmacDetector"),
    ("jwt", "JwtTokenDetector"), ("mailchimp", "MailchimpDetector"), ("npm", "NpmDetector"),
    ("openai", "OpenAIDetector"), ("private_key", "PrivateKeyDetector"),
    ("pypi_token", "PypiTokenDetector"), ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"), ("softlayer", "SoftlayerDetector"),
    ("square_oauth", "SquareOAuthDetector"), ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"), ("twilio", "TwilioKeyDetector"),
)

_GITHUB_KINDS = {"ghp": "personal access token", "gho": "OAuth token", "ghu": "user-to-server token",
                 "ghs": "server-to-server token", "ghr": "refresh token"}
_GITLAB_KINDS = {"glpat": "personal access token", "gldt": "deploy token", "glft": "feed token",
                 "glsoat": "SCIM token", "glrt": "runner token", "GR13": "runner registration token",
                 "glcb": "CI/CD job token", "glim": "incoming mail token", "glpt": "trigger token",
                 "glag": "agent token", "gloa": "OAuth application secret"}


def _plugin_name(cls: str, secret: str) -> str:
    """Human name of what a detect-secrets plugin found."""
    if cls == "AWSKeyDetector":
        if secret.startswith("ASIA"):
            return "an AWS temporary access key id"
        return "an AWS access key id" if secret[:4].isupper() and len(secret) == 20 else "an AWS secret access key"
    if cls == "StripeDetector":
        return "a Stripe live restricted key" if secret.startswith("rk") else "a Stripe live secret key"
    if cls == "GitHubTokenDetector":
        return f"a GitHub {_GITHUB_KINDS.get(secret[:3], 'token')}"
    if cls == "GitLabTokenDetector":
        kind = next((v for k, v in _GITLAB_KINDS.items() if secret.startswith(k)), "token")
        return f"a GitLab {kind}"
    if cls == "TwilioKeyDetector":
        return "a Twilio API key" if secret.startswith("SK") else "a Twilio account SID"
    if cls == "SlackDetector":
        return "a Slack webhook URL" if secret.startswith("http") else "a Slack token"
    return {
        "AzureStorageKeyDetector": "an Azure storage account key",
        "BasicAuthDetector": "a password in a URL",
        "ArtifactoryDetector": "an Artifactory credential",
        "CloudantDetector": "a Cloudant credential",
        "DiscordBotTokenDetector": "a Discord bot token",
        "IbmCloudIamDetector": "an IBM Cloud IAM key (or another 44-character key)",
        "IbmCosHmacDetector": "an IBM COS HMAC secret",
        "JwtTokenDetector": "a JSON Web Token",
        "MailchimpDetector": "a Mailchimp API key",
        "NpmDetector": "an npm token",
        "OpenAIDetector": "an OpenAI API key",
        "PrivateKeyDetector": "a private key",
        "PypiTokenDetector": "a PyPI token",
        "SendGridDetector": "a SendGrid API key",
        "SoftlayerDetector": "a SoftLayer credential",
        "SquareOAuthDetector": "a Square OAuth secret",
        "TelegramBotTokenDetector": "a Telegram bot token",
    }.get(cls, "a credential")


_SCRUB = dict(PROVIDER_PATTERNS)
_DSN = re.compile(
    r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@'\"]+:(?P<secret>[^\s'\"/]+)@(?=[A-Za-z0-9\[])"
    r"[A-Za-z0-9.\-\[\]:]+(?=[/?#'\"\s]|$)")

# (pattern, name or namer): our own formats, for what detect-secrets lacks. A pattern with a
# group named "secret" reports that group.
_OWN: tuple[tuple[re.Pattern, str | Callable[[re.Match], str]], ...] = (
    (re.compile(r"https?://(?P<secret>[0-9a-f]{32})(?::[0-9a-f]{32})?@[A-Za-z0-9.\-]+(?::\d+)?/\d+\b"),
     "a Sentry DSN"),
    (re.compile(r"\bdo[por]_v1_[0-9a-f]{64}\b"),
     lambda m: "a DigitalOcean " + {"p": "personal access token", "o": "OAuth token",
                                    "r": "refresh token"}[m.group(0)[2]]),
    (re.compile(r"\bkey-[0-9a-zA-Z]{32}\b"), "a Mailgun API key"),
    (re.compile(r"\b[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}\b"), "a Mailgun API key"),
    (_DSN, "a password in a connection URL"),
    (re.compile(_SCRUB["anthropic"]), "an Anthropic API key"),
    (re.compile(r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"), "an OpenAI API key"),
    (re.compile(_SCRUB["google_api_key"]), "a Google API key"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"), "a GitHub fine-grained personal access token"),
    (re.compile(_SCRUB["huggingface"]), "a Hugging Face token"),
    (re.compile(_SCRUB["groq"]), "a Groq API key"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"), "a Slack token"),
    (re.compile(r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}"),
     lambda m: "a Stripe {} {} key".format(m.group(0)[3:7], "restricted" if m.group(0)[0] == "r" else "secret")),
    (re.compile(r"\bsq0atp-[0-9A-Za-z\-_]{22}"), "a Square access token"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b|\bASIA[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"), "a private key"),
    (re.compile(r"\b[Bb]earer\s+(?P<secret>[A-Za-z0-9._~+/\-]{16,}=*)"), "a bearer token"),
)


@functools.cache
def _plugins() -> tuple[tuple[str, object], ...]:
    """detect-secrets' format plugins, instantiated once per process (import ~0.3 s)."""
    out = []
    for module, cls in _PLUGIN_CLASSES:
        try:
            out.append((cls, getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls)()))
        except (ImportError, AttributeError):  # a plugin renamed upstream: our own patterns remain
            continue
    return tuple(out)


# Speed only, not detection: lower-case substrings without which a plugin's patterns cannot
# match (read off each plugin's regexes); a plugin is run only on the lines that have one of
# every group. Plugins without an entry run on the whole text.
_PLUGIN_HINTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWSKeyDetector": (("a3t", "abia", "acca", "akia", "asia", "aws"),),
    "ArtifactoryDetector": (("akc", "ap"),),
    "CloudantDetector": (("cl",), ("key", "pw", "pass", "token", "cloudant.com")),
    "IbmCloudIamDetector": (("key", "pw", "pass", "token"),),
    "IbmCosHmacDetector": (("secret",), ("key",)),
    "SoftlayerDetector": (("sl", "softlayer"),),
    "MailchimpDetector": (("-us",),),
    "SlackDetector": (("xox", "hooks.slack.com"),),
    "TelegramBotTokenDetector": ((":",),),
    "StripeDetector": (("k_live_",),),
    "TwilioKeyDetector": (("ac", "sk"),),
    "BasicAuthDetector": (("://",),),
    "NpmDetector": (("_authtoken",),),
    "JwtTokenDetector": (("eyj",),),
    "AzureStorageKeyDetector": (("accountkey=",),),
}
_OWN_HINTS: tuple[tuple[str, ...], ...] = (
    ("://",), ("_v1_",), ("key-",), ("-",), ("://",), ("sk-ant-",), ("sk-",), ("aiza",),
    ("github_pat_",), ("hf_",), ("gsk_",), ("xox",), ("k_live_", "k_test_"), ("sq0atp-",),
    ("akia", "asia"), ("private key",), ("bearer",),
)


def _find_formats(text: str) -> Iterator[tuple[int, str, str]]:
    """(offset, name, secret) of every known key format in ``text``."""
    low = text.lower()
    lines = low_lines = None
    for cls, plugin in _plugins():
        sub = text
        hints = _PLUGIN_HINTS.get(cls)
        if hints is not None:
            if not all(any(h in low for h in group) for group in hints):
                continue
            if "\n" in text:
                if lines is None:
                    lines, low_lines = text.split("\n"), low.split("\n")
                sub = "\n".join(line for line, lo in zip(lines, low_lines, strict=True)
                                if all(any(h in lo for h in group) for group in hints))
        start = 0
        for secret in plugin.analyze_string(sub):  # type: ignore[attr-defined]
            if not secret or (cls == "BasicAuthDetector" and _PLACEHOLDER.match(secret)):
                continue
            at = text.find(secret, start)
            if at < 0:
                at = text.find(secret)
            else:
                start = at + 1
            yield max(at, 0), _plugin_name(cls, secret), secret
    for (rx, name), hints in zip(_OWN, _OWN_HINTS, strict=True):
        if not any(h in low for h in hints):
            continue
        for m in rx.finditer(text):
            secret = m.group("secret") if "secret" in rx.groupindex else m.group(0)
            if rx is _DSN and _PLACEHOLDER.match(secret):
                continue
            if name == "a bearer token" and not looks_random(secret)[0]:
                continue
            yield m.start(), (name if isinstance(name, str) else name(m)), secret


def _preview(secret: str) -> str:
    return f"'{secret[:4]}…'" if len(secret) > 4 else "'…'"


# ---------------------------------------------------------------------------------------------
# Constant folding
# ---------------------------------------------------------------------------------------------

MAX_LEN = 10_000  # longest folded string/bytes/tuple
MAX_DEPTH = 60  # nesting of non-concatenation expressions
MAX_STEPS = 50_000  # fold steps per script
_MAX_INT = 1 << 64


class _NoFold(Exception):
    pass


_SAFE_SPEC = re.compile(r"[^{}]*")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d*)(?:\.(\d*))?[a-zA-Z%]")
_FORMATTER = string.Formatter()
_STR_METHODS = frozenset({"upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize",
                          "swapcase", "casefold"})
_MODULES = frozenset({"base64", "binascii", "codecs", "bytes", "bytearray", "itertools"})
_CODECS = frozenset({"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1"})


def _small_spec(spec: str) -> bool:
    return bool(_SAFE_SPEC.fullmatch(spec)) and all(len(d) <= 3 for d in re.findall(r"\d+", spec))


def _check(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, _Cycle):
        return v
    if isinstance(v, _Map):
        if len(v) > MAX_LEN:
            raise _NoFold
        return v
    if isinstance(v, int):
        if abs(v) > _MAX_INT:
            raise _NoFold
    elif isinstance(v, str | bytes | tuple):
        if len(v) > MAX_LEN:
            raise _NoFold
    else:
        raise _NoFold
    return v


class _Folder:
    """Evaluates constant string expressions of one module, bounded."""

    def __init__(self, tree: ast.AST, nodes: list[ast.AST]):
        self.steps = 0
        self.memo: dict[int, object] = {}
        self.consts: dict[str, object] = {}
        bound: Counter[str] = Counter()  # a name bound more than once is not a constant
        for node in nodes:
            if isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Load):
                    bound[node.id] += 1
            elif isinstance(node, ast.arg):
                bound[node.arg] += 2
            elif isinstance(node, ast.alias):
                bound[(node.asname or node.name).split(".")[0]] += 2
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound[node.name] += 2
        for stmt in getattr(tree, "body", []):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target, value = stmt.target, stmt.value
            else:
                continue
            if isinstance(target, ast.Name) and bound[target.id] == 1:
                v = self.fold(value)
                if v is not None:
                    self.consts[target.id] = v

    def fold(self, node: ast.AST, env: dict | None = None):
        """The value of ``node`` if it is built only from constants, else None."""
        if self.steps > MAX_STEPS:
            return None
        try:
            return self._fold(node, env, 0)
        except (_NoFold, ValueError, TypeError, OverflowError, IndexError, KeyError,
                ZeroDivisionError, UnicodeError, LookupError, RecursionError, MemoryError):
            return None

    def _fold(self, node: ast.AST, env: dict | None, depth: int):
        self.steps += 1
        if self.steps > MAX_STEPS or depth > MAX_DEPTH:
            raise _NoFold
        key = id(node)
        if env is None and key in self.memo:
            v = self.memo[key]
            if v is _NoFold:
                raise _NoFold
            return v
        try:
            v = _check(self._eval(node, env, depth + 1))
        except _NoFold:
            if env is None:
                self.memo[key] = _NoFold
            raise
        if env is None:
            self.memo[key] = v
        return v

    def _eval(self, node: ast.AST, env: dict | None, d: int):
        f = self._fold
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str | bytes | int):
                return node.value
            raise _NoFold
        if isinstance(node, ast.Name):
            if env is not None and node.id in env:
                return env[node.id]
            if node.id in self.consts:
                return self.consts[node.id]
            raise _NoFold
        if isinstance(node, ast.Dict):
            if len(node.keys) > MAX_LEN or any(k is None for k in node.keys):
                raise _NoFold
            return _Map((f(k, env, d), f(v, env, d)) for k, v in zip(node.keys, node.values, strict=True))
        if isinstance(node, ast.Tuple | ast.List):
            if len(node.elts) > MAX_LEN:
                raise _NoFold
            return tuple(f(e, env, d) for e in node.elts)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add):
                return self._concat(node, env, d)
            return _binop(node.op, f(node.left, env, d), f(node.right, env, d))
        if isinstance(node, ast.UnaryOp):
            v = f(node.operand, env, d)
            if isinstance(v, int) and isinstance(node.op, ast.USub | ast.UAdd | ast.Invert):
                return {ast.USub: lambda x: -x, ast.UAdd: lambda x: x, ast.Invert: lambda x: ~x}[type(node.op)](v)
            raise _NoFold
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    v = f(part.value, env, d)
                    if part.conversion in (ord("r"), ord("a")):
                        v = repr(v)
                    elif part.conversion == ord("s"):
                        v = str(v)
                    spec = f(part.format_spec, env, d) if part.format_spec is not None else ""
                    if not isinstance(spec, str) or not _small_spec(spec):
                        raise _NoFold
                    parts.append(format(v, spec))
                else:
                    parts.append(_check(f(part, env, d)))
            return _check("".join(map(str, parts)))
        if isinstance(node, ast.Subscript):
            seq = f(node.value, env, d)
            if isinstance(node.slice, ast.Slice):
                s = node.slice
                bounds = [f(x, env, d) if x is not None else None for x in (s.lower, s.upper, s.step)]
                if not all(b is None or isinstance(b, int) for b in bounds):
                    raise _NoFold
                return seq[slice(*bounds)]
            return seq[f(node.slice, env, d)]
        if isinstance(node, ast.ListComp | ast.GeneratorExp):
            return self._comprehension(node, env, d)
        if isinstance(node, ast.Call):
            return self._call(node, env, d)
        raise _NoFold

    def _concat(self, node: ast.BinOp, env, d):
        """``a + b + c + ...`` along the left spine, iteratively (long chains are common)."""
        operands = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            operands.append(node.right)
            node = node.left
        operands.append(node)
        acc = self._fold(operands.pop(), env, d)
        while operands:
            right = self._fold(operands.pop(), env, d)
            if type(acc) is not type(right):
                raise _NoFold
            if isinstance(acc, str | bytes | tuple) and len(acc) + len(right) > MAX_LEN:
                raise _NoFold
            acc = _check(acc + right)
        return acc

    def _comprehension(self, node, env, d):
        if len(node.generators) != 1:
            raise _NoFold
        gen = node.generators[0]
        items = self._fold(gen.iter, env, d)
        if isinstance(items, int) or gen.is_async:
            raise _NoFold
        out = []
        for item in items:
            local = dict(env or {})
            _bind(gen.target, item, local)
            if all(self._fold(c, local, d) for c in gen.ifs):
                out.append(self._fold(node.elt, local, d))
        return tuple(out)

    def _call(self, node: ast.Call, env, d):
        f = self._fold
        func = node.func
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _NoFold
        if (isinstance(func, ast.Name) and func.id == "map" and len(node.args) == 2
                and isinstance(node.args[0], ast.Name) and node.args[0].id in ("chr", "ord", "str")):
            items = f(node.args[1], env, d)
            if not isinstance(items, str | bytes | tuple):
                raise _NoFold
            return tuple(_builtin(node.args[0].id, [x]) for x in items)
        args = [f(a, env, d) for a in node.args]
        if node.keywords:  # only "...".format(name=constant)
            if not (isinstance(func, ast.Attribute) and func.attr == "format") or any(k.arg is None for k in node.keywords):
                raise _NoFold
            recv = f(func.value, env, d)
            if not isinstance(recv, str):
                raise _NoFold
            return _format(recv, args, {k.arg: f(k.value, env, d) for k in node.keywords})
        if isinstance(func, ast.Name):
            return _builtin(func.id, args)
        if not isinstance(func, ast.Attribute):
            raise _NoFold
        attr = func.attr
        if isinstance(func.value, ast.Name) and func.value.id in _MODULES \
                and (env is None or func.value.id not in env) and func.value.id not in self.consts:
            return _builtin(attr, args)
        recv = f(func.value, env, d)
        return _method(recv, attr, args)


def _bind(target: ast.AST, item, env: dict) -> None:
    if isinstance(target, ast.Name):
        env[target.id] = _check(item)
    elif isinstance(target, ast.Tuple | ast.List):
        items = tuple(item)
        if len(items) != len(target.elts):
            raise _NoFold
        for t, v in zip(target.elts, items, strict=True):
            _bind(t, v, env)
    else:
        raise _NoFold


def _binop(op: ast.operator, a, b):
    if isinstance(op, ast.Mult):
        if isinstance(a, int) and not isinstance(b, int):
            a, b = b, a
        if isinstance(a, str | bytes | tuple) and isinstance(b, int):
            if len(a) * max(b, 0) > MAX_LEN:
                raise _NoFold
            return a * b
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        raise _NoFold
    if isinstance(op, ast.Mod) and isinstance(a, str | bytes):
        fmt = a if isinstance(a, str) else a.decode("latin-1")
        for m in _PERCENT_SPEC.finditer(fmt):
            if any(len(g or "") > 3 for g in m.groups()):
                raise _NoFold
        if "*" in fmt:
            raise _NoFold
        return a % b
    if not (isinstance(a, int) and isinstance(b, int)):
        raise _NoFold
    if isinstance(op, ast.Pow):
        if b < 0 or a.bit_length() * b > 64:
            raise _NoFold
        return a**b
    if isinstance(op, ast.LShift | ast.RShift) and not 0 <= b <= 64:
        raise _NoFold
    ops = {ast.Sub: int.__sub__, ast.BitXor: int.__xor__, ast.BitAnd: int.__and__,
           ast.BitOr: int.__or__, ast.FloorDiv: int.__floordiv__, ast.Mod: int.__mod__,
           ast.LShift: int.__lshift__, ast.RShift: int.__rshift__}
    if type(op) not in ops:
        raise _NoFold
    return ops[type(op)](a, b)


def _ints(seq) -> bytes:
    if isinstance(seq, bytes):
        return seq
    if isinstance(seq, tuple) and all(isinstance(x, int) and 0 <= x < 256 for x in seq):
        return bytes(seq)
    raise _NoFold


def _builtin(name: str, args: list):
    n = len(args)
    if name in ("bytes", "bytearray"):
        if n == 1:
            if isinstance(args[0], int):
                raise _NoFold  # bytes(10**6): zero bytes, nothing to scan
            return _ints(args[0])
        if n in (2, 3) and isinstance(args[0], str) and str(args[1]).lower() in _CODECS:
            return args[0].encode(args[1])
    elif name == "str" and n == 1 and isinstance(args[0], str | int):
        return str(args[0])
    elif name == "chr" and n == 1 and isinstance(args[0], int):
        return chr(args[0])
    elif name == "ord" and n == 1 and isinstance(args[0], str | bytes) and len(args[0]) == 1:
        return ord(args[0])
    elif name in ("list", "tuple") and n == 1 and isinstance(args[0], str | bytes | tuple):
        return tuple(args[0])
    elif name == "reversed" and n == 1 and isinstance(args[0], str | bytes | tuple):
        return tuple(reversed(args[0]))
    elif name == "len" and n == 1 and isinstance(args[0], str | bytes | tuple):
        return len(args[0])
    elif name == "range" and 1 <= n <= 3 and all(isinstance(a, int) for a in args):
        r = range(*args)
        if len(r) > MAX_LEN:
            raise _NoFold
        return tuple(r)
    elif name == "enumerate" and n == 1 and isinstance(args[0], str | bytes | tuple):
        return tuple(enumerate(args[0]))
    elif name == "zip" and n >= 1 and all(isinstance(a, str | bytes | tuple | _Cycle) for a in args):
        finite = [a for a in args if not isinstance(a, _Cycle)]
        if not finite:
            raise _NoFold
        size = min(map(len, finite))
        cols = [a.take(size) if isinstance(a, _Cycle) else a for a in args]
        return tuple(zip(*cols, strict=False))
    elif name == "cycle" and n == 1 and isinstance(args[0], str | bytes | tuple) and args[0]:
        return _Cycle(args[0])
    elif name in ("fromhex", "unhexlify", "a2b_hex") and n == 1 and isinstance(args[0], str | bytes):
        return bytes.fromhex(args[0] if isinstance(args[0], str) else args[0].decode("ascii"))
    elif name in ("b64decode", "urlsafe_b64decode", "standard_b64decode", "b32decode", "b16decode",
                  "a2b_base64", "b85decode") and n == 1 and isinstance(args[0], str | bytes):
        fn = getattr(base64, name, None) or binascii.a2b_base64
        return fn(args[0])
    elif name == "decode" and n == 2 and isinstance(args[0], str | bytes) and isinstance(args[1], str):
        codec = args[1].lower().replace("_", "")
        if codec == "rot13" and isinstance(args[0], str):
            return args[0].translate(_ROT13)
        if codec == "hex":
            return bytes.fromhex(args[0] if isinstance(args[0], str) else args[0].decode("ascii"))
        if codec == "base64":
            return base64.b64decode(args[0])
        if isinstance(args[0], bytes) and args[1].lower() in _CODECS:
            return args[0].decode(args[1])
    raise _NoFold


_ROT13 = str.maketrans(string.ascii_lowercase + string.ascii_uppercase,
                       string.ascii_lowercase[13:] + string.ascii_lowercase[:13]
                       + string.ascii_uppercase[13:] + string.ascii_uppercase[:13])


class _Map(dict):
    """A folded dict literal (for ``"%(a)s" % {...}``)."""


def _format(fmt: str, args: list, kwargs: dict) -> str:
    for _, field, spec, _conv in _FORMATTER.parse(fmt):
        if field is not None and (not re.fullmatch(r"\d*|[A-Za-z_]\w*", field) or not _small_spec(spec or "")):
            raise _NoFold  # no attribute/index access, no huge widths
    return fmt.format(*args, **kwargs)


class _Cycle:
    """``itertools.cycle(key)`` — only usable where something finite bounds it (``zip``)."""

    def __init__(self, seq):
        self.seq = seq

    def take(self, n: int) -> tuple:
        return tuple(self.seq[i % len(self.seq)] for i in range(n))

    def __len__(self) -> int:  # never the bound of a zip
        raise _NoFold


def _method(recv, attr: str, args: list):
    n = len(args)
    if isinstance(recv, str | bytes):
        if attr == "join" and n == 1 and isinstance(args[0], tuple):
            items = args[0]
            if not all(type(x) is type(recv) for x in items):
                raise _NoFold
            if sum(map(len, items)) + len(recv) * len(items) > MAX_LEN:
                raise _NoFold
            return recv.join(items)
        if attr == "format" and isinstance(recv, str):
            return _format(recv, args, {})
        if attr in _STR_METHODS and n <= 1:
            return getattr(recv, attr)(*args)
        if attr == "replace" and n == 2 and all(type(a) is type(recv) for a in args):
            if recv.count(args[0]) * max(len(args[1]) - len(args[0]), 0) + len(recv) > MAX_LEN:
                raise _NoFold
            return recv.replace(*args)
        if attr == "encode" and isinstance(recv, str) and (n == 0 or str(args[0]).lower() in _CODECS):
            return recv.encode(*args[:1])
        if attr == "decode" and isinstance(recv, bytes) and (n == 0 or str(args[0]).lower() in _CODECS):
            return recv.decode(*args[:1])
        if attr == "hex" and isinstance(recv, bytes) and n == 0:
            return recv.hex()
    raise _NoFold


# ---------------------------------------------------------------------------------------------
# The scan
# ---------------------------------------------------------------------------------------------

_COMPOSITE = (ast.BinOp, ast.JoinedStr, ast.Call, ast.Subscript)


class _Hits:
    """Hits with the value each was raised for (never shown whole), de-duplicated per line."""

    def __init__(self) -> None:
        self.found: dict[tuple[int, str, str], str] = {}  # (line, rule, value) -> message

    def add(self, line: int, rule: str, message: str, value: str) -> None:
        self.found.setdefault((line, rule, value), message)

    def formats(self, text: str, line_of: Callable[[int], int], how: str = "") -> None:
        for at, name, secret in _find_formats(text):
            self.add(line_of(at), "hardcoded-secret",
                     f"{name} ({_preview(secret)}) is written in the script{how}; {FIX}", secret)

    def tokens(self, value: str, line: int, how: str = "", depth: int = 0) -> None:
        for token in _SPLIT.split(value):
            if len(token) < MIN_TOKEN:
                continue
            decoded = _b64_text(token)
            if decoded is not None and depth == 0:
                # base64 of text: judge what it encodes, not the encoding
                self.formats(decoded, lambda _at: line, how + ", base64-encoded")
                self.tokens(decoded, line, how + ", base64-encoded", depth + 1)
                continue
            random_like, h = looks_random(token)
            if random_like:
                self.add(line, "high-entropy-string",
                         f"a random-looking {len(token)}-character literal ({_preview(token)}, "
                         f"{h:.2f} bits/char) looks like a key or token{how}; {FIX}", token)

    def value(self, value: str, line: int, how: str = "") -> None:
        self.formats(f'"{value}"', lambda _at: line, how)
        self.tokens(value, line, how)

    def result(self) -> list[SecretHit]:
        """One hit per thing found: on a line, a value inside (or around) another value already
        reported — a piece of an assembled key, a key's PEM header — is not reported again; a
        known format wins over the entropy rule; the first wording of a value wins."""
        by_line: dict[int, list[tuple[str, str, str]]] = {}
        for (line, rule, value), message in self.found.items():
            by_line.setdefault(line, []).append((rule, value, message))
        out: list[SecretHit] = []
        for line, items in by_line.items():
            items.sort(key=lambda it: (it[0] != "hardcoded-secret", -len(it[1])))
            kept: list[tuple[str, str]] = []
            for rule, value, message in items:
                if value.startswith("="):  # a secret-named assignment: its own finding
                    out.append(SecretHit(line, rule, message))
                    continue
                if any(value in v or (rule != r and v in value) for r, v in kept):
                    continue
                kept.append((rule, value))
                out.append(SecretHit(line, rule, message))
        return sorted(out, key=lambda h: (h.line, h.rule, h.message))


def scan_source(source: str, tree: ast.AST | None = None) -> list[SecretHit]:
    """Every secret-looking thing in ``source`` (line numbers are 1-based)."""
    found = _Hits()
    # The whole source: a PEM key spans lines; comments count too.
    found.formats(source, lambda offset: source.count("\n", 0, offset) + 1)
    if tree is None:
        return found.result()
    lines = source.splitlines()
    nodes = list(ast.walk(tree))  # breadth first: an expression before its parts
    for node in nodes:
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            found.tokens(value, node.lineno)
            if value and not _verbatim(value, node, lines):
                found.formats(f'"{value}"', lambda _at, n=node: n.lineno, ", split across literals or behind escapes")
    folder = _Folder(tree, nodes)
    folded: list[tuple[int, int, int, int]] = []  # spans already scanned whole: skip their parts
    for node in nodes:
        if not isinstance(node, _COMPOSITE):
            continue
        span = (node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0)
        if any(_inside(span, f) for f in folded):
            continue
        v = folder.fold(node)
        if isinstance(v, str | bytes):
            folded.append(span)
            text = v if isinstance(v, str) else v.decode("latin-1")
            found.value(text, node.lineno, ", assembled from constant pieces")
    for line, name, value in _secret_named_assignments(nodes, folder):
        found.add(line, "hardcoded-secret",
                  f"'{name}' is assigned a literal ({_preview(value)}); {FIX}", "=" + name)
    return found.result()


def _inside(span: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return (outer[0], outer[1]) <= (span[0], span[1]) and (span[2], span[3]) <= (outer[2], outer[3])


def _verbatim(value: str, node: ast.Constant, lines: list[str]) -> bool:
    """Whether the literal's value appears as written in the source (no escapes to decode)."""
    if node.lineno != node.end_lineno or node.end_col_offset is None:
        return "\\" not in "\n".join(lines[node.lineno - 1:node.end_lineno])
    raw = lines[node.lineno - 1].encode("utf-8")[node.col_offset:node.end_col_offset]
    return value in raw.decode("utf-8", "replace")


def _secret_named_assignments(nodes: list[ast.AST], folder: _Folder) -> Iterator[tuple[int, str, str]]:
    """``api_key = "..."``, ``{"password": "..."}``, ``f(token="...")`` with a constant value."""

    def literal(v: ast.AST) -> str | None:
        value = v.value if isinstance(v, ast.Constant) else folder.fold(v) if isinstance(v, _COMPOSITE) else None
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str) or len(value) < 4 or _PLACEHOLDER.match(value):
            return None
        return value

    for node in nodes:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
                if name and SECRET_KEY_NAMES.match(name) and (value := literal(node.value)):
                    yield node.lineno, name, value
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (isinstance(k, ast.Constant) and isinstance(k.value, str)
                        and SECRET_KEY_NAMES.match(k.value) and (value := literal(v))):
                    yield k.lineno, k.value, value
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg and SECRET_KEY_NAMES.match(kw.arg) and (value := literal(kw.value)):
                    yield kw.value.lineno, kw.arg, value
