"""Model prices from litellm's bundled price map, read without importing litellm.

Importing litellm costs seconds and, without ``LITELLM_LOCAL_MODEL_COST_MAP=True``, a network
call; the SDK and the fleet simulator only need the prices, so they read the JSON file that
ships inside the litellm package. Unknown models cost 0 (never an error): local models are free.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

_PRICE_FILE = "model_prices_and_context_window_backup.json"


@functools.cache
def price_map() -> dict[str, dict]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    for loc in spec.submodule_search_locations:
        path = Path(loc) / _PRICE_FILE
        if path.exists():
            data = json.loads(path.read_text())
            data.pop("sample_spec", None)
            return data
    return {}


def token_prices(model: str | None) -> tuple[float, float] | None:
    """(input, output) USD per token for ``model``, or None when litellm does not know it."""
    if not model:
        return None
    entry = price_map().get(model) or price_map().get(model.split("/", 1)[-1])
    if not entry or "input_cost_per_token" not in entry:
        return None
    return float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token", 0.0))


def cost_usd(model: str | None, tokens_in: int, tokens_out: int) -> float:
    prices = token_prices(model)
    if prices is None:
        return 0.0
    return tokens_in * prices[0] + tokens_out * prices[1]
