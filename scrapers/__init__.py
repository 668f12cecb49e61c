"""Scrapers of the public sources, one module per source (named after the source id), each with
pure parsers (`parse_*(text, url)`) and a `Source` class that fetches through the one injected
`scrapers.http.Fetcher`. `scrapers.refresh` runs them incrementally into the store.
Each module declares its source (`INFO`: title, config section and that section's settings with their
defaults); importing this package declares them to `kb.config`, so a configuration loaded afterwards
checks them too.

| source id      | module                   | what                                                        |
|----------------|--------------------------|-------------------------------------------------------------|
| `vbpl`         | `scrapers/vbpl.py`        | national legal database, JSON gateway behind vbpl.vn        |
| `congbao`      | `scrapers/congbao.py`     | national Official Gazette, congbao.chinhphu.vn (RSS + pages)|
| `congbao_tinh` | `scrapers/congbao_tinh.py`| a provincial Official Gazette on Lotus Domino `congbao.nsf` |
"""

from __future__ import annotations

from kb.config import declare_source
from scrapers import congbao, congbao_tinh, vbpl
from scrapers.base import Relevance, Source

SOURCES: dict[str, type[Source]] = {
    vbpl.NAME: vbpl.VbplSource,
    congbao.NAME: congbao.CongbaoSource,
    congbao_tinh.NAME: congbao_tinh.CongbaoTinhSource,
}
for _module in (vbpl, congbao, congbao_tinh):  # each source's title and settings, in this order
    declare_source(_module.INFO)


def build(
    name: str, fetcher, config, base_url: str | None = None, relevance: Relevance | None = None, today=None
) -> Source:
    """The source `name` configured from a kb Config, fetching through `fetcher`."""
    try:
        cls = SOURCES[name]
    except KeyError:
        from scrapers.errors import ScraperError

        raise ScraperError(f"unknown source {name!r} (known: {', '.join(SOURCES)})") from None
    return cls(fetcher, config, base_url=base_url, relevance=relevance or Relevance.from_config(config), today=today)
