"""Logging filters (LOGGING in settings; loaded before the apps, so no model imports here)."""
import logging
import re

TOKEN_IN_PATH = re.compile(r"/d/[^/\s]*([^/\s]{4})/")


class RedactLinkTokens(logging.Filter):
    """A 404 or 401 of a shared dashboard link is logged with its path (django.request): keep the
    token out of the logs like any other secret; "/d/…abcd/" is enough to tell links apart."""

    def filter(self, record):
        message = record.getMessage()
        if "/d/" in message:
            record.msg, record.args = TOKEN_IN_PATH.sub(r"/d/…\1/", message), None
        return True
