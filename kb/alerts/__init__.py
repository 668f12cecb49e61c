"""E-mail alerts and the weekly digest: subscriptions, signed links, matching changes, delivery, mail.
Imports the `kb` core and `kb.legal`; reaches the search index only through the `Matcher` protocol."""
