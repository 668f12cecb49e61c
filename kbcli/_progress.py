"""Progress on standard error that tells the truth: one bar per real phase of the work (reading a file,
storing its documents, indexing them), and a line of its own for a last step that cannot be measured
(writing the index to disk), instead of one bar that sits at 90 % or shows 00:00:00 for its last seconds."""

from __future__ import annotations

import sys

import click


class Phases:
    """Bars one after another: `phase(name, total)` ends the current bar and starts the next;
    `update(n)` moves it; `step(text)` ends it and prints a line for an unmeasured step."""

    def __init__(self, labels: dict[str, str]):
        self.labels = labels
        self.bar = None

    def phase(self, name: str, total: int) -> None:
        self.close()
        self.bar = click.progressbar(length=max(total, 1), label=self.labels.get(name, name), file=sys.stderr)
        self.bar.__enter__()

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def step(self, text: str) -> None:
        self.close()
        click.echo(text, err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Phases:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Counted:
    """One bar over a known number of items, then a line for what follows the last item (`after`): the
    index writer adds every document (measured), then writes its segments and commits (not measured)."""

    def __init__(self, total: int, label: str, after: str):
        self.phases = Phases({"main": label})
        self.total, self.done, self.after = total, 0, after
        self.phases.phase("main", total)

    def update(self, n: int) -> None:
        self.phases.update(n)
        self.done += n
        if self.done >= self.total and self.after:
            self.phases.step(self.after)
            self.after = ""

    def __enter__(self) -> Counted:
        return self

    def __exit__(self, *exc) -> None:
        self.phases.close()
