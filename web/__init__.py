"""The web UI and JSON API (Flask): search, document pages, "Văn bản mới", feeds, API.

`create_app(test_config)` builds the application for one instance folder. Configuration is read
when the app is created, never at import time, in this order (later wins):

1. the web defaults below and the knowledge base defaults (kb.config.DEFAULTS);
2. the instance folder's config.toml (its [site], [province], [sources] … sections, and a [web]
   section whose keys are the upper-case settings below, e.g. per_page = 30);
3. environment variables: KB_<SECTION>_<KEY> for the knowledge base settings and KB_WEB_<KEY>
   for the web settings (e.g. KB_WEB_PER_PAGE=30);
4. `test_config` (a dict of the upper-case settings; INSTANCE chooses the instance folder).

The app only reads the store and the index; commands of `kb` write them.
"""

from __future__ import annotations

from flask import Flask

from kb import config as kbconfig

WEB_DEFAULTS = {
    "PER_PAGE": 20,  # results per page on the search page
    "API_MAX_LIMIT": 100,  # largest `limit` of /api/search
    "CSV_MAX_ROWS": 5000,  # rows of a CSV export
    "FEED_ENTRIES": 50,  # entries of an Atom feed
    "RECENT_MAX": 2000,  # documents examined by "Văn bản mới" (most recently changed first)
    "RECENT_PER_PAGE": 50,
    "DELEGATIONS_PER_PAGE": 50,  # items per page of "Giao HĐND tỉnh quy định" and /api/delegations
    "MAX_UPLOAD_MB": 20,  # largest upload or request body (413 beyond it); the checker's file limit
    "SUBSCRIBE_LIMIT": 10,  # subscription requests per client address per RATE_WINDOW (0: no limit)
    "CHECK_LIMIT": 30,  # checks (page, downloads, POST /api/check) per client address per RATE_WINDOW
    "RATE_WINDOW": 600,  # seconds
    "PROXY_COUNT": 0,  # reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust
    "CONFIRM_MAIL_WAIT": 8,  # seconds a subscription page waits for its confirmation e-mail to go out
}


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app for an instance folder (test_config["INSTANCE"], else KB_INSTANCE, else ./instance)."""
    test_config = dict(test_config or {})
    instance = kbconfig.instance_path(test_config.get("INSTANCE"))
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)

    kb_config = kbconfig.load(instance)
    app.config.from_mapping(WEB_DEFAULTS)
    app.config.from_mapping({key.upper(): value for key, value in kb_config.section("web").items()})
    app.config.from_prefixed_env(prefix="KB_WEB")
    app.config.from_mapping(
        INSTANCE=str(instance),
        DB_PATH=str(kb_config.db_path),
        INDEX_DIR=str(kb_config.index_dir),
        SITE_NAME=kb_config.get("site", "name"),
        SITE_URL=kb_config.get("site", "url"),
        SITE_URL_SET=kb_config.get("site", "url") != kbconfig.DEFAULTS["site"]["url"],
        PROVINCE=kb_config.get("province", "name"),
        SOURCE_PRIORITY=list(kb_config.get("sources", "priority")),
    )
    app.config.from_mapping(test_config)
    limit = int(float(app.config["MAX_UPLOAD_MB"]) * 1048576)
    app.config["UPLOAD_MAX_BYTES"] = limit
    if "MAX_CONTENT_LENGTH" not in test_config and not app.config.get("MAX_CONTENT_LENGTH"):
        app.config["MAX_CONTENT_LENGTH"] = limit + 64 * 1024  # the file, the form's fields, multipart framing
    if "MAX_FORM_MEMORY_SIZE" not in test_config:
        app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]  # a pasted draft is one field
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.extensions["kb_config"] = kb_config
    if int(app.config["PROXY_COUNT"]) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from web import (
        admin,
        alerts,
        api,
        checker,
        common,
        delegations,
        digest,
        documents,
        feeds,
        recent,
        review,
        search,
        security,
    )

    common.init_app(app)
    security.init_app(app)
    app.register_blueprint(search.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(recent.bp)
    app.register_blueprint(digest.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(checker.bp)
    app.register_blueprint(delegations.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    return app


__all__ = ["create_app", "WEB_DEFAULTS"]
