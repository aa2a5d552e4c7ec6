"""Placeholder: independent model (issue 3)."""
