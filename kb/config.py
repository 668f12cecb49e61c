"""Configuration in one place: the instance folder (default ./instance, or KB_INSTANCE) holds the
database, the index and config.toml. Every setting can be overridden by an environment variable
KB_<SECTION>_<KEY> (for example KB_SMTP_HOST). Precedence: defaults < config.toml < environment.

Every setting is declared once, as a `Setting(section, key, default, help)` (its type is the type of its
default, or `type=` when the default cannot say it): the core's below in `SETTINGS`, each source's in its
scraper module (`declare(...)`, done when `scrapers` is imported, as the CLI does). Values are coerced
and checked when the configuration is loaded, from config.toml and the environment alike: a wrong type
is one ConfigError naming the key and the file (or the variable), never a crash later in a mail run.
`config.get(section, key)` returns the typed value. The README's settings table and docs/*.md are
kept in step with these declarations by tests/test_config.py.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import ConfigError

TYPES = (str, int, float, bool, list)
TYPE_NAMES = {  # how a type is named in an error (Vietnamese: the administrator reads it)
    str: "một chuỗi (trong dấu ngoặc kép)",
    int: "một số nguyên",
    float: "một số",
    bool: "true hoặc false",
    list: 'một danh sách, ví dụ ["a", "b"] (trong biến môi trường: các giá trị cách nhau bằng dấu phẩy)',
}


@dataclass(frozen=True)
class Setting:
    """One setting: `[section] key` in config.toml, KB_<SECTION>_<KEY> in the environment."""

    section: str
    key: str
    default: object
    help: str
    type: type = None  # str, int, float, bool or list (of strings); None: the type of `default`
    choices: tuple = ()  # when not empty, the only values allowed
    minimum: float | None = None  # for numbers

    def __post_init__(self):
        kind = self.type or type(self.default)
        object.__setattr__(self, "type", kind)
        if kind not in TYPES:
            raise TypeError(f"setting {self.name}: unsupported type {kind.__name__}")
        if "_" in self.section:
            raise ValueError(f"section {self.section!r}: a section name contains no '_' (KB_<SECTION>_<KEY>)")

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def variable(self) -> str:
        return f"KB_{self.section.upper()}_{self.key.upper()}"


S = Setting
SETTINGS: tuple[Setting, ...] = (
    S("site", "url", "http://127.0.0.1:8080", "public address of the site, used in e-mails and feeds"),
    S("site", "name", "Văn bản pháp luật – Văn phòng HĐND tỉnh", "title of the site"),
    S("province", "name", "Lai Châu", "the province whose local documents are collected and shown as địa phương"),
    S(
        "province",
        "predecessors",
        [],
        "provinces merged into it (2025): their HĐND/UBND documents are its own for rà soát",
    ),
    # --- rà soát: the province's documents whose legal basis changed (kb/legal/review.py, docs/REVIEW.md) ---
    S(
        "review",
        "bans",
        [],
        "the Ban of the HĐND (empty: Ban Pháp chế, Ban Kinh tế – Ngân sách, Ban Văn hóa – Xã hội, Ban Dân tộc)",
    ),
    S(
        "review",
        "field_bans",
        [],
        "lĩnh vực=Ban pairs (lĩnh vực: accent-insensitive substring); empty: the default of docs/REVIEW.md",
    ),
    S("sources", "enabled", ["vbpl", "congbao", "congbao_tinh"], "sources `kb refresh` visits"),
    S("sources", "priority", ["vbpl", "congbao", "congbao_tinh"], "which source wins when two disagree on a field"),
    # --- the one HTTP client of the scrapers (scrapers/http.py, docs/SOURCES.md) ------------------------
    S(
        "http",
        "user_agent",
        "hdnd-kb/0.1 (+legal knowledge base of a provincial People's Council office)",
        "User-Agent of every request",
    ),
    S("http", "delay", 1.0, "seconds between two requests to one host", minimum=0),
    S("http", "timeout", 30.0, "seconds to wait for a server", minimum=0),
    S("http", "retries", 4, "retries of a failed request", minimum=0),
    S("http", "backoff", 1.0, "first back-off in seconds, doubled at each retry", minimum=0),
    S("http", "max_wait", 300.0, "longest Retry-After honoured; longer gives up", minimum=0),
    S("http", "ca_bundle", "", "CA bundle file for servers with an incomplete chain"),
    S("http", "max_mb", 50.0, "largest response (attachment) accepted, in MB", minimum=0),
    # --- e-mail (kb/alerts/mail.py, docs/ALERTS.md) ------------------------------------------------------
    S("smtp", "host", "localhost", "mail server"),
    S("smtp", "port", 25, "its port", minimum=0),
    S("smtp", "user", "", "login (empty: none)"),
    S("smtp", "password", "", "password of that login"),
    S("smtp", "sender", "kb@localhost", "sender when mail.from is empty"),
    S("smtp", "starttls", False, "STARTTLS (kept for old configurations: smtp.security says it)"),
    S(
        "smtp",
        "security",
        "",
        "none | starttls | ssl; empty: starttls when starttls = true, ssl on port 465",
    ),
    S("smtp", "timeout", 30.0, "seconds to wait for the mail server", minimum=0),
    S("smtp", "ca_bundle", "", "CA file to trust for STARTTLS/SSL (a server with an internal CA)"),
    S("mail", "from", "", 'sender, "Name <addr>" or "addr"; empty: smtp.sender'),
    S("mail", "outbox", "", "a folder: write messages there as .eml instead of using SMTP"),
    # --- alerts and the weekly digest (kb/alerts/, docs/ALERTS.md) -----------------------------------------
    S("alerts", "max_per_address", 20, "active subscriptions (pending included) one address may hold", minimum=0),
    S("alerts", "secret", "", "key signing the links in e-mails; empty: generated once into <instance>/secret.key"),
    S(
        "alerts",
        "confirm_days",
        7,
        "a confirmation link works this long; unconfirmed subscriptions then lapse",
        minimum=1,
    ),
    S(
        "alerts",
        "confirm_resend_hours",
        1.0,
        "an address with pending subscriptions gets one confirmation e-mail this often",
        minimum=0,
    ),
    S("alerts", "link_days", 400, "an unsubscribe or manage link works this long; 0: forever", minimum=0),
    S("alerts", "send_hour", 7, "local hour (UTC+7) after which daily and weekly alerts go out", minimum=0),
    S(
        "alerts",
        "weekly_day",
        1,
        "day of the weekly alerts and digest, 1 = Monday … 7 = Sunday",
        choices=(1, 2, 3, 4, 5, 6, 7),
    ),
    S("alerts", "max_hits", 30, "documents listed per subscription in one message", minimum=1),
    S("alerts", "diff_lines", 8, "added and removed lines of text shown per changed document", minimum=0),
    S("digest", "issued_within_days", 120, "new documents issued longer ago are counted, not listed", minimum=0),
    S("digest", "upcoming_days", 30, '"coming into force" looks this many days past the week', minimum=0),
    # --- the search index (index/, docs/PERFORMANCE.md) -----------------------------------------------------
    S("index", "writer_timeout", 60.0, "seconds a writer waits for the index lock", minimum=0),
    # --- reading uploaded drafts and attachments (kb/readers.py, docs/CHECKER.md, docs/SECURITY.md) ---------
    S("readers", "max_unzipped_mb", 100.0, "a DOCX whose parts unzip to more than this is refused", minimum=0),
    S("readers", "pdf_timeout", 60.0, "seconds a PDF may take to read (in a child process); 0: no limit", minimum=0),
    S("readers", "pdf_max_pages", 500, "a PDF with more pages is refused", minimum=1),
    S("readers", "pdf_max_memory_mb", 1024.0, "address space of the child reading a PDF; 0: no limit", minimum=0),
    # --- `kb refresh` (scrapers/, docs/SOURCES.md); each source declares its own section -------------------
    S("refresh", "stop_after", 50, "known unchanged entries in a row, past the watermark, that end a walk", minimum=1),
    S("refresh", "max_failures", 10, "documents failing in a row that stop a source", minimum=1),
    S("refresh", "attachments", True, "download PDF/DOCX/DOC files for the text of documents without a body"),
    S("refresh", "ocr", False, "OCR scanned PDFs when pdftoppm and tesseract (vie) are installed"),
    S("relevance", "all", False, "keep everything the sources list"),
    S("relevance", "central_types", [], "loại văn bản taken from central bodies (empty: the normative types)"),
    S("relevance", "issuers", [], "central bodies taken (substrings; empty: all)"),
    S("relevance", "provinces", [], "provinces whose HĐND/UBND documents are taken (empty: province.name)"),
    S("relevance", "local_types", [], "loại văn bản taken from those (empty: all)"),
    # --- the web UI and API (web/, docs/WEB.md); Flask reads them upper-case (PER_PAGE) ----------------------
    S("web", "per_page", 20, "results per page on the search page", minimum=1),
    S("web", "api_max_limit", 100, "largest `limit` of /api/search", minimum=1),
    S("web", "csv_max_rows", 5000, "rows of a CSV export", minimum=1),
    S("web", "feed_entries", 50, "entries of an Atom feed", minimum=1),
    S("web", "recent_max", 2000, "documents examined by Văn bản mới (most recently changed first)", minimum=1),
    S("web", "recent_per_page", 50, "documents per page of Văn bản mới", minimum=1),
    S("web", "delegations_per_page", 50, "items per page of Giao HĐND tỉnh quy định and /api/delegations", minimum=1),
    S(
        "web",
        "max_upload_mb",
        20.0,
        "largest upload or request body (413 beyond it); the checker's file limit",
        minimum=0,
    ),
    S(
        "web",
        "subscribe_limit",
        10,
        "subscription requests per client address per rate_window (0: no limit)",
        minimum=0,
    ),
    S("web", "check_limit", 30, "checks per client address per rate_window (0: no limit)", minimum=0),
    S("web", "rate_window", 600.0, "seconds of the rate limits' sliding window", minimum=0),
    S("web", "check_workers", 2, "checks that run side by side (each checker caches the catalogue)", minimum=1),
    S("web", "check_wait", 3.0, "seconds a check waits for a free checker before the 503 busy answer", minimum=0),
    S(
        "web",
        "trusted_hosts",
        [],
        "names and addresses, besides site.url's, at which the site is reached; kept in absolute links",
    ),
    S("web", "proxy_count", 0, "reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust", minimum=0),
    S("web", "confirm_mail_wait", 8.0, "seconds a subscription page waits for its confirmation e-mail", minimum=0),
    S("web", "secret_key", "", "key signing the session cookie; empty: derived from alerts.secret"),
    S("web", "session_cookie_secure", False, "secure cookies (the site is served over HTTPS only)"),
    S("web", "admin_session_hours", 8.0, "how long an administrator's login lasts", minimum=0),
    S(
        "web",
        "admin_login_limit",
        5,
        "free failed administrator logins per client address, then 429 for a back-off (0: no limit)",
        minimum=0,
    ),
    S("web", "admin_login_backoff", 60.0, "first wait of an address, doubled at each further failure", minimum=0),
    S("web", "admin_login_max_wait", 900.0, "longest wait of an address", minimum=0),
    S("web", "admin_account_limit", 20, "free failed logins of the account, from every address together", minimum=0),
    S("web", "admin_account_backoff", 5.0, "first wait of the account (a stranger only slows the admin)", minimum=0),
    S("web", "admin_account_max_wait", 60.0, "longest wait of the account", minimum=0),
    S(
        "web",
        "admin_login_window",
        900.0,
        "seconds after the last failure (or the end of its wait) when the counts start again",
        minimum=0,
    ),
    S("web", "admin_runs", 30, "refresh runs listed on the administration dashboard", minimum=1),
)
del S

_DECLARED: dict[tuple[str, str], Setting] = {(s.section, s.key): s for s in SETTINGS}


@dataclass(frozen=True)
class SourceInfo:
    """A public source as the rest of the program knows it (declared by its scraper module)."""

    name: str  # the source id, as in sources.enabled
    title: str  # in Vietnamese, for the pages
    section: str  # the config.toml section of its settings (base_url …)
    settings: tuple[Setting, ...] = field(default=())


_SOURCES: dict[str, SourceInfo] = {}


def declare_source(info: SourceInfo) -> SourceInfo:
    """Declare a source and its section's settings (each scraper module does, once, at import)."""
    for setting in info.settings:
        if setting.section != info.section:
            raise ValueError(f"{setting.name} is declared by source {info.name} outside its section {info.section}")
        known = _DECLARED.get((setting.section, setting.key))
        if known is not None and known != setting:
            raise ValueError(f"setting {setting.name} declared twice")
        _DECLARED[(setting.section, setting.key)] = setting
    _SOURCES[info.name] = info
    return info


def sources() -> dict[str, SourceInfo]:
    """The declared sources, in declaration order (empty until `scrapers` is imported)."""
    return dict(_SOURCES)


def settings() -> list[Setting]:
    """Every declared setting: the core's, then the sources' (once `scrapers` is imported)."""
    return list(_DECLARED.values())


def setting(section: str, key: str) -> Setting | None:
    return _DECLARED.get((section, key))


def defaults(section: str) -> dict[str, object]:
    """The default values of a section (a copy)."""
    return {s.key: _copy(s.default) for s in _DECLARED.values() if s.section == section}


SAMPLE = """\
# Configuration of this knowledge base instance. Every key can be overridden by an environment
# variable KB_<SECTION>_<KEY>, for example KB_SMTP_HOST=mail.example.org.

[site]
url = "http://127.0.0.1:8080"    # the address users reach; used in e-mails and feeds

[province]
name = "Lai Châu"

[sources]
enabled = ["vbpl", "congbao", "congbao_tinh"]

[http]
delay = 1.0                      # seconds between two requests to one host

[smtp]
host = "localhost"
port = 25
sender = "kb@localhost"
"""


@dataclass
class Config:
    instance: Path
    values: dict[str, dict]

    @property
    def db_path(self) -> Path:
        return self.instance / "kb.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.instance / "index"

    def get(self, section: str, key: str):
        """The typed value of a setting (KeyError for a setting nobody declared or set)."""
        values = self.values.get(section, {})
        if key in values:
            return values[key]
        declared = _DECLARED.get((section, key))
        if declared is None:
            raise KeyError(f"{section}.{key}")
        return _copy(declared.default)  # declared after this configuration was loaded

    def section(self, name: str) -> dict:
        """A section's values: the declared defaults, overridden by config.toml and the environment."""
        return {**defaults(name), **self.values.get(name, {})}

    def is_default(self, section: str, key: str) -> bool:
        declared = _DECLARED.get((section, key))
        return declared is not None and self.get(section, key) == declared.default


def instance_path(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get("KB_INSTANCE") or "instance").resolve()


def load(instance: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the declared defaults, then instance/config.toml, then KB_<SECTION>_<KEY> variables; every
    declared setting is coerced to its type and checked here (ConfigError naming the key and its origin)."""
    folder = instance_path(instance)
    values: dict[str, dict] = {}
    for declared in _DECLARED.values():
        values.setdefault(declared.section, {})[declared.key] = _copy(declared.default)
    path = folder / "config.toml"
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: tệp cấu hình không đọc được ({exc})") from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: “{section}” phải là một mục [{section}]")
            for key, value in table.items():
                declared = _DECLARED.get((section, key))
                origin = f"{section}.{key} trong {path}"
                values.setdefault(section, {})[key] = _from_toml(declared, value, origin) if declared else value
    env = os.environ if environ is None else environ
    for name, raw in env.items():
        if not name.startswith("KB_") or name == "KB_INSTANCE":
            continue
        section, _, key = name[3:].lower().partition("_")
        declared = _DECLARED.get((section, key))
        if declared is not None:
            values[section][key] = _from_env(declared, raw, name)
    return Config(folder, values)


# --- coercion and checks ------------------------------------------------------------------------------
def _copy(value):
    return list(value) if isinstance(value, list) else value


def _wrong(declared: Setting, value, origin: str) -> ConfigError:
    shown = f"“{value}”" if isinstance(value, str) else repr(value)
    return ConfigError(f"{origin}: phải là {TYPE_NAMES[declared.type]}, không phải {shown}")


def _from_toml(declared: Setting, value, origin: str):
    kind = declared.type
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif (
        kind is list
        and isinstance(value, list)
        and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)
    ):
        value = [str(v) for v in value]
    elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _wrong(declared, value, origin)
    return _check(declared, value, origin)


def _from_env(declared: Setting, raw: str, name: str):
    origin = f"{name} (biến môi trường, {declared.name})"
    kind = declared.type
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            value = text.lower() in ("1", "true", "yes")
        elif kind is int:
            value = int(text)
        elif kind is float:
            value = float(text)
        elif kind is list:
            value = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            value = raw
    except ValueError:
        raise _wrong(declared, raw, origin) from None
    return _check(declared, value, origin)


def _check(declared: Setting, value, origin: str):
    if declared.choices and value not in declared.choices:
        allowed = ", ".join(f"“{c}”" if isinstance(c, str) else str(c) for c in declared.choices)
        raise ConfigError(f"{origin}: phải là một trong {allowed}, không phải {value!r}")
    if declared.minimum is not None and value < declared.minimum:
        raise ConfigError(f"{origin}: không được nhỏ hơn {declared.minimum:g} (đang là {value})")
    if declared.type is float and value != value:  # NaN
        raise ConfigError(f"{origin}: phải là một số, không phải {value!r}")
    return value
