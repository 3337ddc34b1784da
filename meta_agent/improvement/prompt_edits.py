"""A new prompt version that addresses a failure cluster: rule-based edits, or a model's
rewrite checked against the same requirements.

``read_failures(error_types, messages)`` reads what the failures show (``Failure``): which
kinds — ``parse`` (the output could not be parsed), ``missing_field`` (a required field was
absent; the field names are read from the messages), ``overflow`` (the prompt exceeded the
context window), ``empty_retrieval`` (the answer failed for want of documents) — and the
output type a parser named.

``rule_edit(text, failure)`` appends one section per rule that applies (``RULES``), each
recorded with why:

- ``strict_output_format`` (parse): reply with exactly one JSON object of the named type, no
  prose or fences, containing the fields the errors name;
- ``required_fields`` (missing field): every reply carries those fields (null when unknown);
- ``summarise_history`` (overflow): summarise earlier turns, cap the retrieved documents;
- ``grounding_rule`` (empty retrieval): no documents → say so and do not answer.

A section already in the text is not added twice; nothing to add → None.

``write_edit(text, failure, gateway)``: with a model (``gateway.offline`` false) the model
rewrites the text through ``gateway.complete_json``; the reply must pass ``problems``: not
empty, every ``{placeholder}`` of the base kept and none added, at most ``length_bound`` characters,
changed, and addressing the failure (naming the missing fields for parse errors; a summary
or cap rule for overflows; a no-documents rule for empty retrieval). One repair round with
the problems listed, then the rules — the ``source`` says why (``rules (model reply
rejected: dropped {question})``, ``rules (model unavailable: LLMError)``), as the evaluation
narrative does. Offline or no gateway: the rules, source ``rules``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from meta_agent.llm.gateway import LLMError, LLMGateway, LLMJSONError, LLMOffline

PURPOSE = "prompt_edit"
MAX_ADDED_CHARS = 2000  # a fix adds a section or two, never a new prompt
MIN_SHARE = 0.3  # a kind counts when this share of the failures shows it
MAX_FIELDS = 8

_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_PARSE = re.compile(r"OutputParser|could not parse|failed to parse|not valid JSON|JSONDecode|Expecting .* delimiter|"
                    r"validation error|got prose", re.I)
_FIELD = re.compile(r"field '([A-Za-z_][\w]*)' (?:is )?required|missing (?:required )?(?:field|key|property) "
                    r"'?([A-Za-z_][\w]*)'?|'([A-Za-z_][\w]*)' is a required property|"
                    r"required (?:field|key) '([A-Za-z_][\w]*)'", re.I)
_SCHEMA = re.compile(r"(?:parse|for) ([A-Z][A-Za-z0-9]+(?:Answer|Output|Response|Result|Schema|Model))\b")
OVERFLOW = re.compile(r"ContextWindowExceeded|maximum context length|prompt is too long|context (?:length|window)|"
                       r"exceeds the maximum number of tokens|too many tokens", re.I)
_EMPTY = re.compile(r"GroundingError|0 documents|no documents|no supporting passages|empty retrieval", re.I)

KINDS = ("parse", "missing_field", "overflow", "empty_retrieval")


@dataclass(frozen=True)
class Failure:
    """What a cluster of failures shows."""

    kinds: tuple[str, ...]  # of KINDS, most frequent first
    fields: tuple[str, ...] = ()  # the field names the messages say are missing / required
    schema: str | None = None  # the output type a parser named
    examples: tuple[str, ...] = ()  # up to three messages, most frequent first
    count: int = 0


@dataclass(frozen=True)
class PromptEdit:
    text: str
    edits: list[dict]  # [{"rule": id, "why": …}]
    source: str  # rules | llm:<model> | rules (model reply rejected: …) | rules (model unavailable: …)


def placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders of a prompt template, in order (``{{`` escapes skipped)."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text or "")))


def read_failures(error_types: Sequence[str], messages: Sequence[str]) -> Failure:
    """The kinds of failure ``error_types`` / ``messages`` (one pair per failed execution) show."""
    texts = [f"{t or ''} {m or ''}" for t, m in zip(error_types, messages, strict=True)]
    n = len(texts)
    if not n:
        return Failure(())
    counts: Counter = Counter()
    fields: Counter = Counter()
    schemas: Counter = Counter()
    for s in texts:
        found = [next(g for g in m.groups() if g) for m in _FIELD.finditer(s)]
        fields.update(dict.fromkeys(found, 1))
        if found:
            counts["missing_field"] += 1
        if _PARSE.search(s):
            counts["parse"] += 1
            schemas.update(_SCHEMA.findall(s)[:1])
        if OVERFLOW.search(s):
            counts["overflow"] += 1
        if _EMPTY.search(s):
            counts["empty_retrieval"] += 1
    kinds = tuple(k for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], KINDS.index(kv[0])))
                  if c >= MIN_SHARE * n)
    keep = [f for f, c in fields.most_common() if c >= 0.02 * n][:MAX_FIELDS]
    examples = tuple(m for m, _ in Counter(str(m) for m in messages if m).most_common(3))
    return Failure(kinds, tuple(keep), schemas.most_common(1)[0][0] if schemas else None, examples, n)


# ------------------------------------------------------------------------------ rules

def _ticks(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _strict_format(f: Failure) -> tuple[str, str]:
    what = f"one JSON object ({f.schema})" if f.schema else "one JSON object"
    text = (f"## Output format (strict)\nReply with exactly {what} and nothing else: no prose before or after "
            "it, no Markdown, no code fences.")
    if f.fields:
        text += f" The object must contain the fields {_ticks(f.fields)}."
    text += " If you cannot complete the task, still reply with that object and explain why inside it."
    share = f"{f.count} failures could not be parsed"
    why = share + (f"; the parser reported the missing fields {', '.join(f.fields)}" if f.fields else "")
    return text, why


def _required(f: Failure) -> tuple[str, str]:
    lines = "\n".join(f"- `{n}`" for n in f.fields)
    text = f"## Required fields\nEvery reply includes each of these fields, even when its value is unknown (then null):\n{lines}"
    return text, f"the failures name required fields the replies left out: {', '.join(f.fields)}"


def _summarise(f: Failure) -> tuple[str, str]:
    text = ("## Context budget\nKeep the request within the model's context window: summarise earlier turns of "
            "the conversation in a few sentences instead of repeating them, and use at most 5 retrieved documents, "
            "the most relevant first.")
    return text, f"{f.count} failures exceeded the model's context window"


def _grounding(f: Failure) -> tuple[str, str]:
    text = ("## Grounding\nAnswer only from the retrieved documents. If no documents were retrieved, or none "
            "supports an answer, say so plainly (\"I found no documents about this\") and do not answer from memory.")
    return text, f"{f.count} failures were answers without documents (the retrieval returned none)"


# rule id -> (the failure kind it fixes, the section's first line — how an applied rule is recognised, writer)
RULES = {
    "strict_output_format": ("parse", "## Output format (strict)", _strict_format),
    "required_fields": ("missing_field", "## Required fields", _required),
    "summarise_history": ("overflow", "## Context budget", _summarise),
    "grounding_rule": ("empty_retrieval", "## Grounding", _grounding),
}


def rule_edit(text: str, failure: Failure) -> PromptEdit | None:
    """``text`` with one section per rule the failure calls for (None: nothing to add)."""
    sections, edits = [], []
    for rule, (kind, head, write) in RULES.items():
        if kind not in failure.kinds or head in text:
            continue
        if kind == "missing_field" and not failure.fields:
            continue
        section, why = write(failure)
        sections.append(section)
        edits.append({"rule": rule, "why": why})
    if not sections:
        return None
    return PromptEdit(text.rstrip() + "\n\n" + "\n\n".join(sections) + "\n", edits, "rules")


# ------------------------------------------------------------------------------ checks

def length_bound(base: str) -> int:
    return len(base) + MAX_ADDED_CHARS


def problems(base: str, new: str, failure: Failure, *, max_chars: int | None = None) -> list[str]:
    """What is wrong with ``new`` as a fix of ``base`` for ``failure`` (empty: nothing)."""
    out = []
    if not (new or "").strip():
        return ["the text is empty"]
    kept, now = placeholders(base), set(placeholders(new))
    dropped = [p for p in kept if p not in now]
    if dropped:
        out.append("dropped " + ", ".join(f"{{{p}}}" for p in dropped))
    added = sorted(now - set(kept))
    if added:
        out.append("added placeholders the agent does not fill: " + ", ".join(f"{{{p}}}" for p in added))
    bound = max_chars or length_bound(base)
    if len(new) > bound:
        out.append(f"{len(new)} characters, over the bound of {bound}")
    if new.strip() == base.strip():
        out.append("the text is unchanged")
    low = new.lower()
    if ("parse" in failure.kinds or "missing_field" in failure.kinds) and failure.fields:
        missing = [f for f in failure.fields if f.lower() not in low]
        if missing:
            out.append("does not name the missing fields " + ", ".join(missing))
    if "parse" in failure.kinds and "json" not in low:
        out.append("does not state the output format (JSON)")
    if "overflow" in failure.kinds and not re.search(r"summar|at most|no more than|limit", low):
        out.append("does not limit the context (summarise history or cap the documents)")
    if "empty_retrieval" in failure.kinds and not re.search(r"no (?:relevant )?documents?|none (?:is|are|was) "
                                                               r"(?:found|retrieved)|nothing (?:was )?retrieved", low):
        out.append("does not say what to do when no documents are retrieved")
    return out


def unified_diff(base: str, new: str, from_label: str, to_label: str) -> str:
    """The unified diff of two prompt texts (what ``prompt_change.diff`` holds)."""
    return "".join(difflib.unified_diff(base.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=from_label, tofile=to_label))


# ------------------------------------------------------------------------------ the model

class EditNote(BaseModel):
    rule: str = Field(description="a short id of the edit, e.g. strict_output_format")
    why: str = Field(description="which failures it addresses")


class PromptRewrite(BaseModel):
    text: str = Field(description="the complete new prompt text")
    edits: list[EditNote] = Field(default_factory=list)


SYSTEM = ("You fix an AI agent's prompt template so that the failures shown stop. Change as little as possible: "
          "keep the wording, the structure and every {placeholder} exactly as written (same names, same braces) and "
          "add no new placeholder; add or tighten instructions that prevent these failures. Reply with the complete "
          "new prompt text and the list of edits, each with why.")


def _request(base: str, failure: Failure, bound: int) -> str:
    need = {"parse": "the replies could not be parsed: require exactly one JSON object and nothing else",
            "missing_field": "the replies left out required fields",
            "overflow": "the requests exceeded the model's context window: summarise history, cap documents",
            "empty_retrieval": "the retrieval returned no documents and the answer failed: say so and do not answer"}
    lines = [f"- {need[k]}" for k in failure.kinds]
    if failure.fields:
        lines.append(f"- the fields the parser reported missing (name each of them): {', '.join(failure.fields)}")
    if failure.schema:
        lines.append(f"- the output type: {failure.schema}")
    examples = "\n".join(f"  {e}" for e in failure.examples)
    return (f"The prompt template:\n<<<\n{base}\n>>>\n\n{failure.count} failures; what they show:\n"
            + "\n".join(lines) + f"\nExamples of the error messages:\n{examples}\n\n"
            f"Keep these placeholders: {', '.join('{' + p + '}' for p in placeholders(base)) or 'none'}. "
            f"At most {bound} characters in all.")


def _model_name(gateway: LLMGateway) -> str:
    chat = getattr(getattr(gateway, "config", None), "chat", None) or []
    return chat[0].model if chat else "model"


def write_edit(base: str, failure: Failure, gateway: LLMGateway | None = None, *,
               max_chars: int | None = None) -> PromptEdit | None:
    """The new version of ``base`` for ``failure``: the model's (checked) when there is one,
    else the rules' (see the module docstring). None when no rule applies and no model wrote
    an acceptable text."""
    rules = rule_edit(base, failure)
    if gateway is None or getattr(gateway, "offline", True) or not failure.kinds:
        return rules
    bound = max_chars or length_bound(base)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _request(base, failure, bound)}]

    def fallback(why: str) -> PromptEdit | None:
        return None if rules is None else PromptEdit(rules.text, rules.edits, f"rules ({why})")

    try:
        reply = gateway.complete_json(messages, PromptRewrite, retries=2, purpose=PURPOSE)
        bad = problems(base, reply.text, failure, max_chars=bound)
        if bad:
            messages += [{"role": "assistant", "content": json.dumps(reply.model_dump())},
                         {"role": "user", "content": "That text is not acceptable: " + "; ".join(bad)
                          + ". Reply again with the corrected complete text."}]
            reply = gateway.complete_json(messages, PromptRewrite, retries=2, purpose=PURPOSE)
            bad = problems(base, reply.text, failure, max_chars=bound)
    except LLMOffline:
        return rules
    except LLMJSONError:
        return fallback("model reply rejected: not valid JSON")
    except LLMError as exc:
        return fallback(f"model unavailable: {type(exc).__name__}")
    if bad:
        return fallback("model reply rejected: " + "; ".join(bad)[:120])
    edits = [{"rule": e.rule[:64], "why": e.why[:400]} for e in reply.edits] or [
        {"rule": "model_rewrite", "why": "; ".join(failure.kinds)}]
    return PromptEdit(reply.text, edits, f"llm:{_model_name(gateway)}")

