"""What the Genesys tests share: a catalog with a Genesys mapping, a client on the fake
whose waits are recorded instead of slept, and a bot wired to the fake."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakegenesys import CLIENT_ID, CLIENT_SECRET, FakeGenesys

from bot.genesys.client import Endpoints, GenesysClient, RateLimiter
from bot.genesys.provision import Provisioner

if TYPE_CHECKING:
    from conftest import Bot, BotFactory

MAPPING = {
    '# "premium.agent"': '"premium.agent"',
    '# "premium.supervisor"': '"premium.supervisor"',
    '# "standard.agent"': '"standard.agent"',
    '# "partner.agent"': '"partner.agent"',
    "# wfo": "wfo",
}


def mapped_catalog(folder: Path) -> Path:
    """The shipped catalog with its example [genesys.licenses] filled in: premium agent
    and supervisor -> cloudCX3, standard agent -> cloudCX2, partner agent -> cloudCX1,
    +wfo -> wem."""
    text = resources.files("bot.licensing").joinpath("catalog.toml").read_text("utf-8")
    for commented, line in MAPPING.items():
        assert commented in text
        text = text.replace(commented, line)
    path = folder / "catalog-genesys.toml"
    path.write_text(text, "utf-8")
    return path


class Waits:
    """An injected sleep: records what the client would have waited, waits nothing."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def client_for(fake: FakeGenesys, waits: Waits | None = None, **kwargs: Any) -> GenesysClient:
    waits = waits or Waits()
    kwargs.setdefault("limiter", RateLimiter(10_000, sleep=waits))
    return GenesysClient(
        kwargs.pop("client_id", CLIENT_ID),
        kwargs.pop("client_secret", CLIENT_SECRET),
        Endpoints(fake.url, fake.url),
        sleep=waits,
        backoff=kwargs.pop("backoff", (0.5, 1.0, 2.0)),
        timeout=kwargs.pop("timeout", 5.0),
        **kwargs,
    )


def genesys_settings(fake: FakeGenesys, folder: Path) -> dict[str, Any]:
    return {
        "genesys_client_id": CLIENT_ID,
        "genesys_client_secret": CLIENT_SECRET,
        "genesys_api_url": fake.url,
        "genesys_login_url": fake.url,
        "catalog": mapped_catalog(folder),
    }


async def genesys_bot(
    make_bot: BotFactory, fake: FakeGenesys, folder: Path, **overrides: Any
) -> tuple[Bot, Waits]:
    """The real bot with Genesys set (settings pointing at the fake); its client's waits
    are recorded rather than slept, so retries and polling cost no test time."""
    bot = await make_bot(**genesys_settings(fake, folder), **overrides)
    waits = Waits()
    assert bot.deps.genesys is not None, "GENESYS_* settings must turn the client on"
    await bot.deps.genesys.close()
    client = client_for(fake, waits)
    bot.deps.genesys = client
    provisioner = bot.deps.deliverer.genesys  # type: ignore[attr-defined]
    assert isinstance(provisioner, Provisioner)
    provisioner.client = client
    return bot, waits
