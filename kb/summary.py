"""What a list of documents shows of each one: `DocSummary`, the one small record the alerts, the weekly
digest and the web's "Văn bản mới" carry instead of whole documents (features add their own fields by
subclassing it: kb.alerts.changes.DocumentUpdate, kb.alerts.digest.DigestItem)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.model import Document


@dataclass
class DocSummary:
    uid: str
    number: str = ""
    title: str = ""
    doc_type: str = ""
    issuer: str = ""
    issued: str = ""  # ISO dates
    effective: str = ""
    expires: str = ""
    status: str = ""
    fields: list[str] = field(default_factory=list)  # lĩnh vực
    scope: str = ""
    year: str = ""  # of issue
    deleted: bool = False  # no longer in the store (what is shown is its last version)

    @classmethod
    def of(cls, doc: Document, status: str | None = None, **extra):
        """The summary of a document (a subclass's own fields in `extra`). `status`: the document's status
        from kb.legal.validity, which the caller (above the core) computes; the stored label otherwise."""
        return cls(
            uid=doc.uid,
            number=doc.number or "",
            title=doc.title,
            doc_type=doc.doc_type or "",
            issuer=doc.issuer or "",
            issued=doc.issued or "",
            effective=doc.effective or "",
            expires=doc.expires or "",
            status=status or doc.status or "",
            fields=list(doc.fields),
            scope=doc.scope or "",
            year=str(doc.year or ""),
            **extra,
        )

    @property
    def heading(self) -> str:
        """ "Nghị định 9101/2026/NĐ-CP", else the title."""
        return " ".join(x for x in (self.doc_type, self.number) if x) or self.title
