"""The package version (one place; pyproject.toml and meson.build repeat it)."""

__version__ = "0.2.0"
