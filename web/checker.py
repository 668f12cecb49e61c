"""Kiểm tra căn cứ pháp lý (docs/CHECKER.md): paste a draft or upload it (DOCX, PDF, text), give the
planned date of effect, and get the table of its citations with the status of each cited document on
that date — to copy into a báo cáo thẩm tra, or download as CSV (Excel) or TSV (Word).

The app keeps one `kb.legal.checker.Checker` (it caches the catalogue of every stored document) with its own
store connection, used under a lock; POST /api/check (web/api.py) shares it.
"""

from __future__ import annotations

import datetime as dt
import threading

from flask import Blueprint, Response, current_app, render_template, request

from kb.dates import VN_TZ, vn_date
from kb.legal.checker import ERROR, INFO, SEVERITY_LABELS, WARNING, Checker, CheckError, CheckReport
from kb.readers import Limits, ReadError, read_document
from kb.store import Store
from kb.tables import to_csv, to_tsv
from web.common import first_run_page, instance_state, upload_limit
from web.security import rate_limited
from web.state import clean

bp = Blueprint("checker", __name__)

FORMATS = ("csv", "tsv")
MAX_FILENAME = 120


class CheckInputError(ValueError):
    """The request holds nothing to check, or two things at once; the message says what to do."""


class _Shared:
    """The app's checker and its store connection (opened on first use), and the lock around them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checker: Checker | None = None

    def get(self) -> Checker:
        """The checker; call with the lock held."""
        if self.checker is None:
            app = current_app
            store = Store(app.config["DB_PATH"], app.config["SOURCE_PRIORITY"])
            self.checker = Checker(store, province=app.config["PROVINCE"])
        return self.checker


def shared() -> _Shared:
    return current_app.extensions.setdefault("kb_checker", _Shared())


def run_check(text: str, on: str | None, source: str | None) -> CheckReport:
    """The report of `text` on the planned date `on` (CheckError for a bad date)."""
    box = shared()
    with box.lock:
        return box.get().check(text, on=on or None, source=source)


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
    rows = report.rows()
    headers = (
        list(rows[0])
        if rows
        else [
            "STT",
            "Văn bản được viện dẫn",
            "Vị trí",
            "Văn bản trong CSDL",
            f"Tình trạng ngày {vn_date(report.on)}",
            "Nhận xét",
        ]
    )
    table = [[row[h] for h in headers] for row in rows]
    if fmt == "csv":
        body, mimetype = to_csv(headers, table), "text/csv"
    else:
        body, mimetype = to_tsv(headers, table), "text/tab-separated-values"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=kiem-tra-can-cu-{report.on}.{fmt}"
    return response


@bp.route("/kiem-tra-can-cu", methods=["GET", "POST"])
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
        else:
            values["on"] = vn_date(report.on)
            fmt = request.form.get("format", "")
            if fmt in FORMATS:
                return export(report, fmt, source)
    headers, rows = table(report) if report else ([], [])
    return render_template(
        "check.html",
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
