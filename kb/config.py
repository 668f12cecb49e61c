"""Configuration in one place: the instance folder (default ./instance, or KB_INSTANCE) holds the
database, the index and config.toml. Every setting can be overridden by an environment variable
KB_<SECTION>_<KEY> (for example KB_SMTP_HOST). Precedence: defaults < config.toml < environment.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kb.errors import ConfigError

DEFAULTS: dict[str, dict] = {
    "site": {
        "url": "http://127.0.0.1:8080",
        "name": "Văn bản pháp luật – Văn phòng HĐND tỉnh",
    },
    "province": {
        "name": "Lai Châu",  # whose local documents are collected and shown as "địa phương"
        "predecessors": [],  # provinces merged into it (2025): their HĐND/UBND documents are its own for rà soát
    },
    # --- rà soát: the province's documents whose legal basis changed (kb/legal/review.py, docs/REVIEW.md) --
    "review": {
        "bans": [],  # the Ban of the HĐND (empty: Ban Pháp chế, Ban Kinh tế – Ngân sách, Ban Văn hóa – Xã hội, Ban Dân tộc)
        "field_bans": [],  # "lĩnh vực=Ban" (lĩnh vực: accent-insensitive substring); empty: the default of docs/REVIEW.md
    },
    "sources": {
        "enabled": ["vbpl", "congbao", "congbao_tinh"],
        "priority": ["vbpl", "congbao", "congbao_tinh"],  # who wins when two sources disagree
    },
    "http": {
        "user_agent": "hdnd-kb/0.1 (+legal knowledge base of a provincial People's Council office)",
        "delay": 1.0,  # seconds between two requests to one host
        "timeout": 30.0,
        "retries": 4,
        "backoff": 1.0,  # first back-off in seconds, doubled at each retry
        "max_wait": 300.0,  # longest Retry-After honoured; longer gives up
        "ca_bundle": "",  # CA bundle file for servers with an incomplete chain
        "max_mb": 50,  # largest response (attachment) accepted
    },
    "smtp": {
        "host": "localhost",
        "port": 25,
        "user": "",
        "password": "",
        "sender": "kb@localhost",
        "starttls": False,
        "security": "",  # none | starttls | ssl; empty: starttls when starttls = true, ssl on port 465
        "timeout": 30.0,  # seconds to wait for the mail server
        "ca_bundle": "",  # CA file to trust for STARTTLS/SSL (a server with an internal CA)
    },
    # --- e-mail delivery of alerts and the weekly digest (kb/mail.py, docs/ALERTS.md) ----------
    "mail": {
        "from": "",  # sender (KB_MAIL_FROM), "Name <addr>" or "addr"; empty: smtp.sender
        "outbox": "",  # a folder: write messages there as .eml instead of using SMTP
    },
    "alerts": {
        "max_per_address": 20,  # active subscriptions (pending included) one address may hold
        "secret": "",  # key signing the links in e-mails; empty: generated once into <instance>/secret.key
        "confirm_days": 7,  # a confirmation link works this long; unconfirmed subscriptions then lapse
        "link_days": 400,  # an unsubscribe or "manage" link works this long (each mail has fresh ones); 0: forever
        "send_hour": 7,  # local hour (UTC+7) after which daily and weekly alerts go out
        "weekly_day": 1,  # day of the weekly alerts and digest, 1 = Monday … 7 = Sunday
        "max_hits": 30,  # documents listed per subscription in one message (then a link to the rest)
        "diff_lines": 8,  # added and removed lines of text shown per changed document
    },
    "digest": {
        "issued_within_days": 120,  # new documents issued longer ago are counted, not listed (backfills)
        "upcoming_days": 30,  # "coming into force" looks this many days past the week
    },
    "index": {
        "writer_timeout": 60.0,  # seconds a writer waits for the index lock
    },
    # --- reading uploaded drafts and attachments (kb/readers.py, docs/CHECKER.md, docs/SECURITY.md) --
    "readers": {
        "max_unzipped_mb": 100,  # a DOCX whose parts unzip to more than this is refused (zip bombs)
        "pdf_timeout": 60.0,  # seconds a PDF may take to read (in a child process, killed after); 0: no limit
        "pdf_max_pages": 500,  # a PDF with more pages is refused
        "pdf_max_memory_mb": 1024,  # address space of the child process reading a PDF; 0: no limit
    },
    # --- scrapers and `kb refresh` (scrapers/, docs/SOURCES.md) ------------------------------
    "refresh": {
        "stop_after": 50,  # known unchanged entries in a row, past the watermark, that end a walk
        "max_failures": 10,  # documents failing in a row that stop a source
        "attachments": True,  # download PDF/DOCX/DOC files for the text of documents without a body
        "ocr": False,  # OCR scanned PDFs when pdftoppm and tesseract (vie) are installed
    },
    "relevance": {  # which documents are relevant to HĐND work
        "all": False,  # everything the sources list
        "central_types": [],  # loại văn bản taken from central bodies (empty: the normative types)
        "issuers": [],  # central bodies taken (substrings; empty: all)
        "provinces": [],  # provinces whose HĐND/UBND documents are taken (empty: province.name)
        "local_types": [],  # loại văn bản taken from those (empty: all)
    },
    "vbpl": {
        "base_url": "https://vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public",
        "site_url": "https://vbpl.vn",
        "page_size": 50,
        "sort_by": "",  # empty: the gateway's order (newest updated first); or "issueDate"
        "central_level": "TRUNG_UONG",  # agencyLevel of the central feed; empty: one unfiltered feed
        "local_agency_ids": [],  # gateway agency ids of the province's HĐND/UBND (local feed by agency)
        "local_keywords": [],  # title keywords of the local feeds (empty: the provinces)
    },
    "congbao": {
        "base_url": "https://congbao.chinhphu.vn",
    },
    "gazette": {  # the provincial gazette (source congbao_tinh), Lotus Domino congbao.nsf
        "base_url": "",  # e.g. https://congbao.sonla.gov.vn; empty: not configured
        "path": "congbao.nsf",
        "province": "",  # empty: province.name
        "first_year": 0,  # oldest year of the first walk (0: last year)
    },
}

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
        return self.values[section][key]

    def section(self, name: str) -> dict:
        return self.values.get(name, {})


def instance_path(explicit: str | Path | None = None) -> Path:
    return Path(explicit or os.environ.get("KB_INSTANCE") or "instance").resolve()


def load(instance: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read defaults, then instance/config.toml, then KB_<SECTION>_<KEY> variables."""
    folder = instance_path(instance)
    values = copy.deepcopy(DEFAULTS)
    path = folder / "config.toml"
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for section, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: '{section}' must be a [section]")
            values.setdefault(section, {}).update(table)
    env = os.environ if environ is None else environ
    for name, raw in env.items():
        if not name.startswith("KB_") or name == "KB_INSTANCE":
            continue
        section, _, key = name[3:].lower().partition("_")
        if section in values and key:
            default = values[section].get(key)
            values[section][key] = _coerce(raw, default, name)
    return Config(folder, values)


def _coerce(raw: str, default, name: str):
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            return [part.strip() for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {type(default).__name__}") from None
    return raw
