"""Fixtures for the tool tests; the helpers themselves live in toolhelpers.py (importable by tests)."""

from toolhelpers import serve, workspace

__all__ = ["serve", "workspace"]
