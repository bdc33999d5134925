"""Bolt listeners: parse -> service -> blocks; ack first.

Import rule (tests/test_architecture.py): commands never import bot.store or bot.jobs.
Reads go through the read side (bot/services/queries.py), changes through the use cases
in bot/services; listeners are plain functions in a route table per module, run by
bot/commands/pipeline.py.
"""
