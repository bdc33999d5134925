"""Genesys Cloud as the system of record (SPEC 8): the client, provisioning, sync."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.genesys.client import GenesysClient
    from bot.settings import Settings

LEDGER_ONLY = (
    "Genesys Cloud is not configured (GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET unset): "
    "ledger-only mode, nothing is provisioned in or read from Genesys"
)


def make_client(settings: Settings) -> GenesysClient | None:
    """The process's client from the settings, or None in ledger-only mode."""
    if not settings.genesys_enabled:
        return None
    from bot.genesys.client import Endpoints, GenesysClient

    assert settings.genesys_client_id and settings.genesys_client_secret
    return GenesysClient(
        settings.genesys_client_id,
        settings.genesys_client_secret.get_secret_value(),
        Endpoints.for_region(
            settings.genesys_region, settings.genesys_api_url, settings.genesys_login_url
        ),
        rate_per_minute=settings.genesys_rate_per_minute,
    )
