"""Script factory: a plain-English request becomes a plan, a validated script and a sandboxed run (one partition per request)."""
