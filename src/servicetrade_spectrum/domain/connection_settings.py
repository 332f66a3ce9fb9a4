"""What a connection's settings must look like, for every place that takes them (the
``connection add`` command, the connections pages, the REST API): one set of rules."""

from __future__ import annotations

import re

__all__ = ["LEADING_CHARACTER", "NOT_AUTHORIZED_FIX", "SYSTEM_NAME"]

SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""A ServiceTrade external system name: lower case, starting with a letter."""

LEADING_CHARACTER = re.compile(r"^[A-Za-z0-9]$")
"""The prefix of work order numbers: one letter or digit."""

NOT_AUTHORIZED_FIX = ("In Spectrum, System Administration > Installation > Data Exchange, make "
                      "the Authorization ID Active and add WorkOrder -> WorkOrderHeader to its "
                      "Build list.")
"""What to do when Spectrum answers but does not authorize WorkOrderHeader."""
