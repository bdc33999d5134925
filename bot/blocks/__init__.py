"""Every Block Kit message and modal (slack_sdk.models).

Import rule (tests/test_architecture.py): blocks import only bot.blocks, bot.licensing
(entities in bot/licensing/entities.py, read-side results in bot/licensing/views.py and the
domain's own values) and bot.clock; never the store, jobs, services, commands or delivery.
"""
