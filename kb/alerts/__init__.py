"""E-mail alerts and the weekly digest, in one home: subscriptions (making and ending them), records (the
alert tables), tokens and links (the signed URLs of the messages), changes (what happened to a document),
delivery (schedule, matching, one run), digest, render and templates/ (every message's words and markup),
mail (putting messages together and sending them). Imports the `kb` core and `kb.legal`; reaches the
search index only through the `Matcher` protocol (delivery) and a query reader (subscriptions)."""
