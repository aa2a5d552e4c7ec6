"""Placeholder: multinomial emission (issue 3)."""
