"""Placeholder: gaussian emission (issue 3)."""
