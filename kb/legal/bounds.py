"""Bounds around one check of the legal-basis checker (issue 20): how many citations, how long, how much memory.

A real resolution cites tens of documents; a check costs about 20 ms per citation (resolving it against the
store), so an unbounded check of a 6 MB text of 130,000 citations took a minute and gigabytes. The citations
are counted with one quick scan before anything is resolved, and a `Budget` given to `Checker.check` refuses
the check as soon as it holds more than MAX_CITATIONS, runs longer than MAX_SECONDS or grows the process by
more than MAX_MEMORY_MB:

    budget = Budget()
    budget.citations(count_citations(text))     # TooManyCitations before any work
    report = checker.check(text, on, budget=budget)

The memory bound reads the process's resident size (Linux /proc; elsewhere the peak), so in a threaded
server other requests' memory counts too: a bound on what the process may grow by during one check.
"""

from __future__ import annotations

import re
import resource
import time

from kb.errors import KBError

MAX_CITATIONS = 2_000
MAX_SECONDS = 10.0
MAX_MEMORY_MB = 300
MEMORY_EVERY = 16  # ticks between two looks at the memory

# One mark per citation the extractor lists: a số ký hiệu ("81/2021/NĐ-CP", "83/2015/QH13"), or a code or
# law named without one ("Luật Giáo dục ngày 14 tháng 6 năm 2019").
_NUMBER = re.compile(r"(?<![\w/])\d{1,4}(?:/\d{4})?/[A-ZĐ][A-ZĐa-z0-9]*(?:-[A-ZĐ][A-ZĐa-z0-9]*)*")
_NAMED = re.compile(r"\b(?:Bộ luật|Luật|Pháp lệnh|Hiến pháp)\s+(?=[A-ZĐÂĂÊÔƠƯ])")
_BREAK = re.compile(r"[;\n]")  # a số ký hiệu after one of these belongs to the next citation
_NAME_SPAN = 120  # characters after a law's name in which its số ký hiệu would be written


class CheckLimit(KBError):
    """The check was refused or stopped at one of its bounds; the message is for the user."""

    status = 503
    retry_after: int | None = 30


class TooManyCitations(CheckLimit):
    status = 413
    retry_after = None

    def __init__(self, count: int):
        self.count = count
        super().__init__(
            f"Nội dung có {vn_number(count)} trích dẫn văn bản; mỗi lần kiểm tra nhận tối đa "
            f"{vn_number(MAX_CITATIONS)} trích dẫn (một nghị quyết thường có vài chục). "
            "Hãy chia nội dung thành nhiều phần rồi kiểm tra từng phần."
        )


class CheckTooLong(CheckLimit):
    def __init__(self, seconds: float):
        super().__init__(
            f"Việc kiểm tra vượt quá {seconds:g} giây cho phép nên đã dừng. "
            "Hãy kiểm tra nội dung ngắn hơn, hoặc thử lại sau ít phút."
        )


class CheckTooBig(CheckLimit):
    def __init__(self, megabytes: float):
        super().__init__(
            f"Việc kiểm tra cần nhiều hơn {megabytes:g} MB bộ nhớ cho phép nên đã dừng. "
            "Hãy kiểm tra nội dung ngắn hơn, hoặc thử lại sau ít phút."
        )


def vn_number(n: int) -> str:
    """130000 → "130.000" (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def count_citations(text: str) -> int:
    """The citations of `text`, counted in one quick scan (the extractor lists the same on ordinary drafts)."""
    numbers = [m.start() for m in _NUMBER.finditer(text)]
    count = len(numbers)
    j = 0
    for named in _NAMED.finditer(text):
        while j < len(numbers) and numbers[j] < named.end():
            j += 1
        if (
            j == len(numbers)
            or numbers[j] > named.end() + _NAME_SPAN
            or _NAMED.search(text, named.end(), numbers[j])
            or _BREAK.search(text, named.end(), numbers[j])
        ):
            count += 1  # named without a số ký hiệu of its own
    return count


def _memory_mb() -> float:
    """The process's resident size now (Linux), else its peak."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Budget:
    """Called by the checker once per citation it works on; raises a CheckLimit past a bound.
    The bounds are read from the module when the budget is made (a test may change them)."""

    def __init__(self, max_citations: int | None = None, seconds: float | None = None, megabytes: float | None = None):
        self.max_citations = MAX_CITATIONS if max_citations is None else max_citations
        self.seconds = MAX_SECONDS if seconds is None else seconds
        self.megabytes = MAX_MEMORY_MB if megabytes is None else megabytes
        self.deadline = time.monotonic() + self.seconds
        self.start_mb = _memory_mb()
        self.ticks = 0

    def citations(self, count: int) -> None:
        """The check holds `count` citations: TooManyCitations beyond the bound."""
        if count > self.max_citations:
            raise TooManyCitations(count)

    def __call__(self) -> None:
        if time.monotonic() > self.deadline:
            raise CheckTooLong(self.seconds)
        if self.ticks % MEMORY_EVERY == 0 and _memory_mb() - self.start_mb > self.megabytes:
            raise CheckTooBig(self.megabytes)
        self.ticks += 1
