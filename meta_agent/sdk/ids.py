"""Execution ids: UUIDv7 (RFC 9562) — time-ordered, so the ops DB appends to its indexes.

Random UUIDv4 keys land all over a B-tree; at a million rows that makes SQLite inserts
~40 % slower (benchmarks/bench_logger.py) and bloats PostgreSQL indexes. Python 3.11 has no
``uuid.uuid7``, hence these few lines.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 random bits: 12 for rand_a, 62 for rand_b
    value = (ms & ((1 << 48) - 1)) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def new_execution_id() -> str:
    return uuid7().hex
