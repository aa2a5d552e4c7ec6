"""Placeholder: multinomial model (issue 3)."""
