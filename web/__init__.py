"""The web UI and JSON API (Flask): search, document pages, "Văn bản mới", feeds, API.

`create_app(test_config)` builds the application for one instance folder. Configuration is read
when the app is created, never at import time, in this order (later wins):

1. the declared defaults (kb.config.SETTINGS, the [web] section included);
2. the instance folder's config.toml (its [site], [province], [sources] … sections, and a [web]
   section whose keys are the upper-case Flask settings, e.g. per_page = 30 is PER_PAGE);
3. environment variables: KB_<SECTION>_<KEY>, e.g. KB_WEB_PER_PAGE=30 (both checked and typed by
   kb.config.load; other KB_WEB_<KEY> variables reach Flask's own settings);
4. `test_config` (a dict of the upper-case settings; INSTANCE chooses the instance folder).

The app only reads the store and the index; commands of `kb` write them.
"""

from __future__ import annotations

from flask import Flask

from kb import config as kbconfig

# The [web] settings (kb.config.SETTINGS, section "web") as Flask reads them: upper-case keys.
WEB_DEFAULTS = {key.upper(): value for key, value in kbconfig.defaults("web").items()}


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app for an instance folder (test_config["INSTANCE"], else KB_INSTANCE, else ./instance)."""
    test_config = dict(test_config or {})
    instance = kbconfig.instance_path(test_config.get("INSTANCE"))
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)

    kb_config = kbconfig.load(instance)  # [web] typed and checked there, from config.toml and KB_WEB_<KEY>
    app.config.from_prefixed_env(prefix="KB_WEB")  # other Flask settings (KB_WEB_SERVER_NAME …)
    web = kb_config.section("web")
    if not web["secret_key"]:
        del web["secret_key"]  # none: the session key is derived (web.security)
    app.config.from_mapping({key.upper(): value for key, value in web.items()})
    app.config.from_mapping(
        INSTANCE=str(instance),
        DB_PATH=str(kb_config.db_path),
        INDEX_DIR=str(kb_config.index_dir),
        SITE_NAME=kb_config.get("site", "name"),
        SITE_URL=kb_config.get("site", "url"),
        SITE_URL_SET=not kb_config.is_default("site", "url"),
        PROVINCE=kb_config.get("province", "name"),
        SOURCE_PRIORITY=list(kb_config.get("sources", "priority")),
    )
    app.config.from_mapping(test_config)
    # web.trusted_hosts: other names (or addresses) this site is reached at, kept in links. Not Flask's own
    # TRUSTED_HOSTS, which would refuse every other Host with a 400.
    hosts = app.config.get("TRUSTED_HOSTS") or []
    if "SITE_HOSTS" not in test_config:
        app.config["SITE_HOSTS"] = [h.strip() for h in hosts.split(",")] if isinstance(hosts, str) else list(hosts)
    app.config["TRUSTED_HOSTS"] = None
    limit = int(app.config["MAX_UPLOAD_MB"] * 1048576)
    app.config["UPLOAD_MAX_BYTES"] = limit
    if "MAX_CONTENT_LENGTH" not in test_config and not app.config.get("MAX_CONTENT_LENGTH"):
        app.config["MAX_CONTENT_LENGTH"] = limit + 64 * 1024  # the file, the form's fields, multipart framing
    if "MAX_FORM_MEMORY_SIZE" not in test_config:
        app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]  # a pasted draft is one field
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.extensions["kb_config"] = kb_config
    if app.config["PROXY_COUNT"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
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
