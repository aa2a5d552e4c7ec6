"""Placeholder: gaussian model (issue 3)."""
