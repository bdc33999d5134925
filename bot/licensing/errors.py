"""Errors the domain raises: each carries a message a person can act on."""


class LicenseError(Exception):
    """A rule was broken; `str(error)` says what and how to fix it."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class CatalogError(ValueError):
    """The catalog file is missing, malformed or inconsistent."""
