"""Kiểm tra căn cứ pháp lý (docs/CHECKER.md): paste a draft or upload it (DOCX, PDF, text), give the
planned date of effect, and get the table of its citations with the status of each cited document on
that date — to copy into a báo cáo thẩm tra, or download as CSV (Excel) or TSV (Word).

Checks run on a small pool of `kb.legal.checker.Checker`s (each caches the catalogue of every stored document
and has its own store connection), CHECK_WORKERS of them: checks run side by side, and a check that finds
every checker busy for CHECK_WAIT seconds is answered 503 "busy" with Retry-After, never queued without end.
Each check is bounded (kb.legal.bounds): at most 2,000 citations (counted before any work; 413 naming the
count), 10 s and 300 MB. POST /api/check (web/api.py) uses the same pool.
Both the page and the API refuse POSTs a browser sends from another site (web.security.same_site_only).
"""

from __future__ import annotations

import datetime as dt
import queue
import threading

from flask import Blueprint, Response, current_app, render_template, request

from kb.dates import VN_TZ, vn_date
from kb.legal.bounds import Budget, CheckLimit, count_citations
from kb.legal.checker import ERROR, INFO, SEVERITY_LABELS, WARNING, Checker, CheckError, CheckReport
from kb.legal.report_table import report_table
from kb.readers import Limits, ReadError, read_document
from kb.store import Store
from kb.tables import to_csv, to_tsv
from web.common import first_run_page, instance_state, upload_limit
from web.security import rate_limited, same_site_only
from web.state import clean

bp = Blueprint("checker", __name__)

FORMATS = ("csv", "tsv")
MAX_FILENAME = 120


class CheckInputError(ValueError):
    """The request holds nothing to check, or two things at once; the message says what to do."""


class CheckBusy(CheckLimit):
    def __init__(self):
        super().__init__("Bộ kiểm tra căn cứ đang bận với các yêu cầu khác. Xin thử lại sau ít giây.")

    retry_after = 10


class CheckerPool:
    """`size` checkers, each used by one request at a time."""

    def __init__(self, size: int, factory):
        self.size = max(1, size)
        self._factory = factory
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()

    def acquire(self, timeout: float) -> Checker:
        """An idle checker (made when fewer than `size` exist), waiting up to `timeout` s; CheckBusy else."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._made < self.size:
                self._made += 1
                make = True
            else:
                make = False
        if make:
            try:
                return self._factory()
            except BaseException:
                with self._lock:
                    self._made -= 1
                raise
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise CheckBusy() from None

    def release(self, checker: Checker) -> None:
        self._idle.put(checker)


def check_pool() -> CheckerPool:
    app = current_app._get_current_object()
    pool = app.extensions.get("kb_check_pool")
    if pool is None:
        with _POOL_LOCK:
            pool = app.extensions.get("kb_check_pool")
            if pool is None:

                def make() -> Checker:
                    store = Store(app.config["DB_PATH"], app.config["SOURCE_PRIORITY"])
                    return Checker(store, province=app.config["PROVINCE"])

                pool = app.extensions["kb_check_pool"] = CheckerPool(int(app.config.get("CHECK_WORKERS", 2)), make)
    return pool


_POOL_LOCK = threading.Lock()


def run_check(text: str, on: str | None, source: str | None) -> CheckReport:
    """The report of `text` on the planned date `on` (CheckError for a bad date; CheckLimit past a bound
    or when every checker stays busy)."""
    budget = Budget()
    budget.citations(count_citations(text))  # before waiting for a checker or doing any work
    pool = check_pool()
    checker = pool.acquire(timeout=float(current_app.config.get("CHECK_WAIT", 3)))
    try:
        return checker.check(text, on=on or None, source=source, budget=Budget())  # the time counts from here
    finally:
        pool.release(checker)


def today_vn() -> str:
    return dt.datetime.now(VN_TZ).date().strftime("%d/%m/%Y")


def read_input(text: str, upload) -> tuple[str, str | None]:
    """(text to check, file name or None) from a pasted text or an uploaded file (ReadError for a file
    that cannot be read, CheckInputError when there is nothing)."""
    if upload is not None and upload.filename:
        name = clean(upload.filename)[:MAX_FILENAME]
        data = upload.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
        limits = Limits.from_config(current_app.extensions["kb_config"])  # [readers] of the configuration
        return read_document(data, name, max_bytes=current_app.config["UPLOAD_MAX_BYTES"], limits=limits), name
    if text and text.strip():
        return text.replace("\r\n", "\n"), None
    raise CheckInputError(
        "Chưa có nội dung để kiểm tra: hãy dán nội dung dự thảo vào ô bên dưới, "
        "hoặc chọn tệp DOCX, PDF hay văn bản thuần (.txt)."
    )


def table(report: CheckReport) -> tuple[list[str], list[dict]]:
    """Column names and, per citation, its row (report.rows()) with what the page adds: links, severities."""
    rows = report.rows()
    headers = list(rows[0]) if rows else []
    out = []
    for check, row in zip(report.checks, rows):
        out.append(
            {
                "cells": row,
                "check": check,
                "severity": check.severity or "ok",
                "findings": [
                    {"severity": f.severity, "label": SEVERITY_LABELS[f.severity], "message": f.message}
                    for f in check.findings
                ],
            }
        )
    return headers, out


def export(report: CheckReport, fmt: str, source: str | None) -> Response:
    """The table as CSV (UTF-8 with a BOM, for Excel) or TSV (for Word's "Convert Text to Table")."""
    headers, table = report_table(report)
    if fmt == "csv":
        body, mimetype = to_csv(headers, table), "text/csv"
    else:
        body, mimetype = to_tsv(headers, table), "text/tab-separated-values"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=kiem-tra-can-cu-{report.on}.{fmt}"
    return response


@bp.route("/kiem-tra-can-cu", methods=["GET", "POST"])
@same_site_only
@rate_limited("check")
def page():
    """GET: the form; POST: the report under the form (or, with format=csv|tsv, the table as a file)."""
    if instance_state() == "empty":
        return first_run_page()
    values = {"text": "", "on": today_vn()}
    report = error = None
    notices: list[str] = []
    status = 200
    if request.method == "POST":
        values["on"] = clean(request.form.get("on", "")).strip()[:40] or today_vn()
        pasted = request.form.get("text", "")
        upload = request.files.get("file")
        values["text"] = pasted
        try:
            text, source = read_input(pasted, upload)
            if source and pasted.strip():
                notices.append(
                    f"Đã kiểm tra nội dung tệp {source}; phần văn bản dán trong ô được thay bằng nội dung tệp."
                )
            values["text"] = text
            report = run_check(text, values["on"], source)
        except (ReadError, CheckError, CheckInputError) as exc:
            error, status = str(exc), 400
        except CheckLimit as exc:
            error, status = str(exc), exc.status
        else:
            values["on"] = vn_date(report.on)
            fmt = request.form.get("format", "")
            if fmt in FORMATS:
                return export(report, fmt, source)
    headers, rows = table(report) if report else ([], [])
    return render_template(
        "checker/check.html",
        values=values,
        report=report,
        error=error,
        notices=notices,
        headers=headers,
        rows=rows,
        counts=report.counts() if report else {},
        severity_labels=SEVERITY_LABELS,
        ERROR=ERROR,
        WARNING=WARNING,
        INFO=INFO,
        max_mb=upload_limit(),
    ), status
