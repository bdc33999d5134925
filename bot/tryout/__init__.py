"""`licensebot try`: the real bot in one terminal, with an embedded stand-in for Slack.

- `slack.py`  the stand-in: a Slack Web API on 127.0.0.1 that keeps channels, threads,
              DMs, ephemerals, modals and App Homes, and records everything in order;
- `render.py` Block Kit and mrkdwn as readable text, with numbered buttons;
- `cast.py`   the demo people, channels and pools;
- `session.py` the session: the real app (`bot.app.build_service`), signed requests
              through `app.async_dispatch`, the prompt's commands;
- `cli.py`    `licensebot try [--as NAME]`.
"""
