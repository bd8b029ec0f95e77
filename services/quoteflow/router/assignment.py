"""Sticky, monotone blue/green assignment.

A key (customer key, or the quote id when there is none) hashes to a bucket
0..9999; buckets below the Green share go Green. Raising the share only moves
Blue buckets to Green, so a returning customer sees one model's price throughout
a rollout.
"""

from __future__ import annotations

import hashlib

from quoteflow.router.policy import Color, Policy

N_BUCKETS = 10_000


def bucket_of(key: str) -> int:
    # blake2b is stable across processes and Python versions (unlike hash()).
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % N_BUCKETS


def assign(key: str, policy: Policy) -> Color:
    return "green" if bucket_of(key) < policy.green_buckets else "blue"
