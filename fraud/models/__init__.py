"""Fraud data: telemetry sessions and decisions (telemetry.py), cases and their audit (cases.py)."""

from fraud.models.cases import *  # noqa: F403
from fraud.models.telemetry import *  # noqa: F403
