"""Moved to bot.delivery (the deliverer is not a job); kept so old imports still work."""

from bot.delivery import Deliverer, DeliveryReport, NotReady

__all__ = ["Deliverer", "DeliveryReport", "NotReady"]
