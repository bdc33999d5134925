"""The outbox deliverer: side effects (Slack today, Genesys next) after the change that
caused them has committed. See bot.delivery.engine."""

from bot.delivery.engine import Deliverer, DeliveryReport, Superseded
from bot.delivery.outcomes import NotReady, backoff, classify
from bot.delivery.pacing import Pacer, Rate
from bot.delivery.slack import METADATA_EVENT, Attempt, Sent
from bot.store.outbox import Failure, Lane, OutboxTarget

__all__ = [
    "METADATA_EVENT",
    "Attempt",
    "Deliverer",
    "DeliveryReport",
    "Failure",
    "Lane",
    "NotReady",
    "OutboxTarget",
    "Pacer",
    "Rate",
    "Sent",
    "Superseded",
    "backoff",
    "classify",
]
