"""The errors of the alerts feature: one base (SubscriptionError, a KBError) whose Vietnamese message is
shown to users as it is, and TokenError for the links of the e-mails."""

from __future__ import annotations

from kb.errors import KBError


class SubscriptionError(KBError):
    """A subscription cannot be made or changed; the message (Vietnamese) says why."""


class TokenError(SubscriptionError):
    """A link's token is forged, damaged, expired or no longer matches a subscription."""
