"""Placeholder: independent emission (issue 3)."""
