"""Incremental refresh: walk each source's listings newest first, fetch only what is new or changed,
store it through the knowledge base (which turns every change into events), and record the run.

State kept in the store (table `state`), all written in the same transaction as the document:

- `<source>:fp:<id>` — the listing fingerprint (vbpl: updatedDate | effStatus | effTo) of the last
  stored version, or `…|skip:<relevance hash>` for an entry judged not relevant. An entry whose
  fingerprint is unchanged is "known": it costs no request.
- `<source>:walk:<feed>` — `watermark`: the sort key of the newest entry when the last complete walk
  began. A walk stops once it is past the watermark and `stop_after` known entries came in a row.
  While a walk runs, `pending` holds where it is (`cursor`: the page) and where it began (`top`), so
  an interrupted walk resumes there and the watermark moves only when a walk completes.
- `<source>:retry` — documents that failed (network, bad response): retried first on the next run.
- `<source>:feed:<feed>` — what a feed keeps between runs (RSS validators for a conditional GET).

Outcomes are values: a document is new, changed, unchanged, known, not relevant or failed. Errors
that stop a whole source (its listing cannot be read, its layout changed, too many documents in a
row failed) end that source with one message; the caller runs the other sources. Ctrl-C or a kill
leaves the store consistent: every document is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from kb.store import Change, Store, now
from scrapers.base import Entry, Feed, Relevance, Source
from scrapers.errors import LayoutChanged

MAX_RETRY_ATTEMPTS = 20


@dataclass
class SourceReport:
    source: str
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    not_relevant: int = 0
    requests: int = 0
    error: str | None = None  # the source stopped: why (one line)
    not_configured: str | None = None  # the source was not run: why
    stopped_early: bool = False  # a walk reached known territory and stopped
    failures: list[dict] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def counts(self) -> dict:
        return {
            "seen": self.seen,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "not_relevant": self.not_relevant,
            "requests": self.requests,
            "failures": self.failures[:100],
        }

    def summary(self) -> str:
        if self.not_configured:
            return f"{self.source}: bỏ qua — {self.not_configured}"
        line = (
            f"{self.source}: {self.seen} đã xem, {self.new} mới, {self.changed} thay đổi, "
            f"{self.unchanged} không đổi, {self.failed} lỗi"
        )
        if self.not_relevant:
            line += f" ({self.not_relevant} không liên quan)"
        line += f"; {self.requests} yêu cầu"
        return line


class Refresher:
    """Runs one refresh of sources into a store."""

    def __init__(
        self,
        store: Store,
        *,
        full: bool = False,
        since: str | None = None,
        stop_after: int = 50,
        max_failures: int = 10,
        progress: Callable[[SourceReport, bool], None] | None = None,
    ):
        self.store = store
        self.full = full
        self.since = since
        self.stop_after = max(1, int(stop_after))
        self.max_failures = max(1, int(max_failures))
        self.progress = progress or (lambda report, done: None)

    # --- one source -----------------------------------------------------------------------------
    def run(self, source: Source) -> SourceReport:
        report = SourceReport(source.name)
        reason = source.not_configured()
        if reason:
            report.not_configured = reason
            return report
        report.run_id = self.store.start_run(source.name)
        requests_before = getattr(source.fetcher, "requests", 0)
        run = _Run(self, source, report)
        try:
            run.retry_failed()
            for feed in source.feeds():
                run.walk(feed)
        except KeyboardInterrupt:
            report.error = "interrupted"
            raise
        except _SourceStopped as exc:
            report.error = str(exc)
        except LayoutChanged as exc:
            report.error = str(exc)
        except Exception as exc:  # the listing failed (network, bad response) or an unexpected error
            report.error = f"{source.name}: {_describe(exc)}"
        finally:
            report.requests = getattr(source.fetcher, "requests", 0) - requests_before
            self.store.finish_run(report.run_id, report.counts(), report.error)
            self.progress(report, True)
        return report


class _SourceStopped(Exception):
    pass


class _Run:
    """The state of one source's run (kept apart from Refresher so each run starts clean)."""

    def __init__(self, refresher: Refresher, source: Source, report: SourceReport):
        self.r = refresher
        self.store = refresher.store
        self.source = source
        self.report = report
        self.name = source.name
        self.relevance: Relevance = source.relevance
        self.skip_mark = "skip:" + self.relevance.fingerprint()
        self.done: set[str] = set()
        self.failures_in_row = 0
        self.retry_key = f"{self.name}:retry"
        self.retry: dict[str, dict] = _load(self.store.get_state(self.retry_key))

    # --- the retry queue ------------------------------------------------------------------------
    def retry_failed(self) -> None:
        for _source_id, queued in list(self.retry.items()):
            entry = Entry.from_json(queued.get("entry") or {})
            if not entry.source_id:
                continue
            self.process(entry, bool(queued.get("trusted_local")), forced=True)

    # --- one feed -------------------------------------------------------------------------------
    def walk(self, feed: Feed) -> None:
        walk_key = f"{self.name}:walk:{feed.name}"
        feed_key = f"{self.name}:feed:{feed.name}"
        state = _load(self.store.get_state(walk_key))
        feed.state = _load(self.store.get_state(feed_key))
        watermark = state.get("watermark")
        pending = state.get("pending") if not (self.r.full or self.r.since) else None
        resume = pending.get("cursor") if pending else None
        top = pending.get("top") if pending else None
        cursor = resume
        known_in_row = 0
        since = self.r.since
        for entry in feed.entries(resume=resume, since=since, watermark=watermark):
            if since and entry.sort_key and entry.sort_key[:10] < since:
                break
            if top is None and entry.sort_key:
                top = entry.sort_key
            if entry.cursor is not None and entry.cursor != cursor:
                cursor = entry.cursor
                self.store.set_state(
                    walk_key, json.dumps({**state, "pending": {"top": top, "cursor": cursor, "started": now()}})
                )
            outcome = self.process(entry, feed.trusted_local)
            known_in_row = known_in_row + 1 if outcome in ("known", "duplicate") else 0
            if (
                not self.r.full
                and not since
                and watermark
                and entry.sort_key
                and entry.sort_key <= watermark
                and known_in_row >= self.r.stop_after
            ):
                self.report.stopped_early = True
                break
        # The walk is complete: move the watermark (a --since walk only when it reached known ground).
        new_state = {k: v for k, v in state.items() if k != "pending"}
        if top and (not since or not watermark or since <= watermark[:10]):
            new_state["watermark"] = max(top, watermark) if watermark and not self.r.full else top
        new_state["completed"] = now()
        with self.store.transaction():
            self.store.set_state(walk_key, json.dumps(new_state))
            if feed.new_state is not None:
                self.store.set_state(feed_key, json.dumps(feed.new_state))

    # --- one entry ------------------------------------------------------------------------------
    def process(self, entry: Entry, trusted_local: bool, forced: bool = False) -> str:
        source_id = entry.source_id
        if source_id in self.done:
            return "duplicate"
        self.done.add(source_id)
        report = self.report
        report.seen += 1
        fp_key = f"{self.name}:fp:{source_id}"
        try:
            old = self.store.get_state(fp_key)
            skip_value = f"{entry.fingerprint}|{self.skip_mark}"
            if not forced and not self.r.full and old in (entry.fingerprint, skip_value):
                if old == skip_value:
                    report.not_relevant += 1
                else:
                    report.unchanged += 1
                return "known"
            if self.relevance.check_listing(entry, trusted_local) is False:
                self._forget_retry(source_id)
                self.store.set_state(fp_key, skip_value)
                report.not_relevant += 1
                return "not_relevant"
            try:
                doc = self.source.fetch(entry)
            except LayoutChanged:
                raise
            except Exception as exc:  # this document failed; record it, retry it next run, go on
                self._failed(entry, trusted_local, exc)
                return "failed"
            self.failures_in_row = 0
            if not self.relevance.check(doc, trusted_local):
                with self.store.transaction():
                    self.store.set_state(fp_key, skip_value)
                    self._forget_retry(source_id)
                report.not_relevant += 1
                return "not_relevant"
            with self.store.transaction():
                change = self.store.upsert(doc)
                self.store.set_state(fp_key, entry.fingerprint)
                self._forget_retry(source_id)
            if change.is_new:
                report.new += 1
                outcome = "new"
            elif change.changed:
                report.changed += 1
                outcome = "changed"
            else:
                report.unchanged += 1
                outcome = "unchanged"
            if change.changed:
                report.changes.append(change)
            return outcome
        finally:
            self.r.progress(report, False)

    def _failed(self, entry: Entry, trusted_local: bool, exc: Exception) -> None:
        report = self.report
        report.failed += 1
        message = _describe(exc)
        report.failures.append({"id": entry.source_id, "url": entry.url, "error": message})
        queued = self.retry.get(entry.source_id, {})
        attempts = int(queued.get("attempts", 0)) + 1
        if attempts <= MAX_RETRY_ATTEMPTS:
            self.retry[entry.source_id] = {
                "entry": entry.to_json(),
                "trusted_local": trusted_local,
                "attempts": attempts,
                "error": message,
                "at": now(),
            }
        else:
            self.retry.pop(entry.source_id, None)
        self.store.set_state(self.retry_key, json.dumps(self.retry, ensure_ascii=False))
        self.failures_in_row += 1
        if self.failures_in_row >= self.r.max_failures:
            raise _SourceStopped(
                f"{self.name}: dừng sau {self.failures_in_row} văn bản lỗi liên tiếp; lỗi cuối: {message}"
            )

    def _forget_retry(self, source_id: str) -> None:
        if source_id in self.retry:
            del self.retry[source_id]
            self.store.set_state(self.retry_key, json.dumps(self.retry, ensure_ascii=False))


def refresh(sources: list[Source], store: Store, **options) -> list[SourceReport]:
    """Refresh every source in turn; a source that fails does not stop the others."""
    refresher = Refresher(store, **options)
    return [refresher.run(source) for source in sources]


def _describe(exc: Exception) -> str:
    from kb.errors import KBError

    if isinstance(exc, KBError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _load(value: str | None) -> dict:
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
