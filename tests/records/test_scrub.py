"""Secrets never reach storage: provider keys, tokens, URL passwords, registered values."""

import pytest

from meta_agent.records.scrub import REDACTED, Scrubber

FAKE_KEYS = {
    "openai": "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4",
    "anthropic": "sk-ant-api03-" + "x" * 40,
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "google": "AIza" + "S" * 35,
    "github": "ghp_" + "a" * 36,
    "slack": "xoxb-" + "1234567890-abcdefghij",
    "stripe": "sk_live_" + "0" * 24,
    "huggingface": "hf_" + "q" * 34,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


@pytest.mark.parametrize("kind", sorted(FAKE_KEYS))
def test_provider_keys_are_redacted(kind):
    key = FAKE_KEYS[kind]
    out = Scrubber().scrub_text(f"call failed with credentials {key} (retrying)")
    assert key not in out and REDACTED in out and out.endswith("(retrying)")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz.123", "abcdefghijklmnopqrstuvwxyz.123"),
        ("connect postgresql://app:Sup3rS3cret@db.internal:5432/prod failed", "Sup3rS3cret"),
        ('{"api_key": "k-123456789", "q": 1}', "k-123456789"),
        ("password=hunter22&user=bob", "hunter22"),
        ("client_secret: 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    ],
)
def test_tokens_passwords_and_assignments_are_redacted(text, secret):
    out = Scrubber().scrub_text(text)
    assert secret not in out and REDACTED in out


def test_registered_secrets_and_patterns_are_redacted():
    s = Scrubber(secrets=["corp-internal-token-42"], patterns=[r"EMP-\d{6}"])
    out = s.scrub_text("used corp-internal-token-42 for EMP-123456")
    assert out == f"used {REDACTED} for {REDACTED}"


def test_registering_a_secret_after_use_still_applies():
    s = Scrubber()
    assert s.scrub_text("value abcd-1234") == "value abcd-1234"
    s.register("abcd-1234")
    assert s.scrub_text("value abcd-1234") == f"value {REDACTED}"


def test_nested_values_and_secret_named_keys():
    out = Scrubber().scrub({"password": "x1", "headers": {"Authorization": "Basic Zm9vOmJhcg=="},
                            "notes": ["see " + FAKE_KEYS["github"]], "count": 3, "token_count": 12})
    assert out["password"] == REDACTED and out["headers"]["Authorization"] == REDACTED
    assert FAKE_KEYS["github"] not in out["notes"][0]
    assert out["count"] == 3 and out["token_count"] == 12


@pytest.mark.parametrize("text", [
    "LLM call exceeded 60s deadline", "tokens_in=1200 tokens_out=300", "tool 'search_kb' failed: 502",
    "This model's maximum context length is 128000 tokens.", "rate limit reached for gpt-4o-mini",
])
def test_ordinary_text_is_left_alone(text):
    assert Scrubber().scrub_text(text) == text
