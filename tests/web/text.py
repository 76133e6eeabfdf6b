"""Helpers for asserting on rendered pages."""

from __future__ import annotations

import re

# Django's CSRF tokens (64 characters) and similar random values are long runs of letters and digits;
# a short id such as "D3" can occur inside one by chance, so "not on the page" checks drop them first.
_RANDOM_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")


def without_tokens(html: str) -> str:
    """The page with every run of 32 or more token characters removed (CSRF tokens, nonces)."""
    return _RANDOM_TOKEN.sub("", html)
