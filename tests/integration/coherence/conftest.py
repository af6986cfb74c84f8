"""Makes the social tests' shared helpers (tests/integration/referrals/social_helpers.py) importable."""

from __future__ import annotations

import sys
from pathlib import Path

_HELPERS = str(Path(__file__).resolve().parents[1] / "referrals")
if _HELPERS not in sys.path:
    sys.path.insert(0, _HELPERS)
