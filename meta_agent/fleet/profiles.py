"""The demo fleet's agents: what each does, which models it calls, how it usually behaves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentProfile:
    agent_id: str
    team: str
    description: str
    models: tuple[str, ...]
    model_weights: tuple[float, ...]
    latency_ms: float  # median execution latency on the first model
    latency_sigma: float  # lognormal sigma
    failure_rate: float  # share of executions that fail (before incidents)
    timeout_rate: float
    human_rate: float  # share needing a human
    tokens_in: float  # median prompt tokens
    tokens_out: float  # median completion tokens
    tools: tuple[str, ...]
    volume: float  # multiplier on --per-day


# Slower models take longer: a multiplier on the agent's median latency.
MODEL_LATENCY = {
    "gpt-4o-mini": 1.0,
    "gpt-4.1-mini": 1.1,
    "gemini/gemini-2.5-flash": 0.9,
    "claude-haiku-4-5": 1.0,
    "gpt-4o": 1.9,
    "claude-sonnet-4-5": 2.3,
}

CATALOG: tuple[AgentProfile, ...] = (
    AgentProfile("support-triage", "customer-ops", "Classifies inbound tickets and drafts replies",
                 ("gpt-4o-mini", "gpt-4o"), (0.85, 0.15), 1400, 0.45, 0.020, 0.004, 0.04,
                 1600, 280, ("search_kb", "fetch_ticket", "classify_intent"), 1.4),
    AgentProfile("invoice-extractor", "finance-automation", "Extracts fields from supplier invoices",
                 ("claude-haiku-4-5",), (1.0,), 2100, 0.40, 0.015, 0.003, 0.06,
                 3200, 420, ("ocr_document", "validate_vat_id", "post_to_erp"), 1.0),
    AgentProfile("sql-analyst", "data-platform", "Answers analytics questions with SQL",
                 ("gpt-4.1-mini", "claude-sonnet-4-5"), (0.7, 0.3), 3800, 0.55, 0.035, 0.008, 0.03,
                 2400, 520, ("list_tables", "query_database", "render_chart"), 0.8),
    AgentProfile("lease-abstractor", "real-estate", "Summarizes commercial leases into key terms",
                 ("claude-sonnet-4-5",), (1.0,), 6500, 0.50, 0.025, 0.010, 0.08,
                 9000, 900, ("fetch_lease_pdf", "extract_clauses", "calculate_rent_schedule"), 0.5),
    AgentProfile("research-assistant", "strategy", "Researches markets and writes briefs",
                 ("gpt-4o", "gemini/gemini-2.5-flash"), (0.6, 0.4), 5200, 0.60, 0.030, 0.012, 0.02,
                 6000, 1100, ("web_search", "fetch_url", "summarize_sources"), 0.6),
    AgentProfile("code-reviewer", "developer-productivity", "Reviews pull requests",
                 ("claude-sonnet-4-5", "gpt-4o"), (0.8, 0.2), 7000, 0.45, 0.020, 0.006, 0.05,
                 12000, 800, ("fetch_diff", "run_linters", "post_review"), 0.7),
    AgentProfile("email-drafter", "customer-ops", "Drafts follow-up emails",
                 ("gemini/gemini-2.5-flash",), (1.0,), 900, 0.35, 0.010, 0.002, 0.03,
                 900, 350, ("fetch_thread", "lookup_customer"), 1.2),
    AgentProfile("rent-roll-parser", "real-estate", "Parses rent rolls into unit-level tables",
                 ("gpt-4o-mini",), (1.0,), 2600, 0.40, 0.020, 0.005, 0.05,
                 5000, 1500, ("ocr_document", "parse_table", "reconcile_units"), 0.9),
)


def fleet(n: int) -> list[AgentProfile]:
    """The first ``n`` agents of the catalog; beyond it, numbered copies of its profiles."""
    out = list(CATALOG[:n])
    for i in range(len(CATALOG), n):
        base = CATALOG[i % len(CATALOG)]
        out.append(AgentProfile(**{**base.__dict__, "agent_id": f"{base.agent_id}-{i // len(CATALOG) + 1}"}))
    return out
