"""Sizes of the hardening tests: small in CI, heavy with LICENSEBOT_SLOW_TESTS=1."""

from __future__ import annotations

import os

SLOW = os.environ.get("LICENSEBOT_SLOW_TESTS") == "1"


def size(ci: int, slow: int) -> int:
    return slow if SLOW else ci
