"""The one gateway to litellm (completion, embedding, routing, cost) — see ``gateway``.

``pricing`` reads litellm's bundled price map without importing litellm.
"""
