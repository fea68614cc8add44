"""The tests wait the tools' way (tools/waiting.py): one polling helper for the project, imported from here."""

from tools.waiting import PATIENCE_SECONDS, wait_for

__all__ = ["PATIENCE_SECONDS", "wait_for"]
