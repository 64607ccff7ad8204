"""HTML to PDF with jinja2 + weasyprint. Both are imported on first use, never at cold start."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

# A template's <style data-shared> block is the same text for every document it prints: weasyprint parses it once
# per process (as a user stylesheet, which beats only the user agent's, as an author one would here) instead of
# once per render. The HTML itself stays a whole document that any browser prints the same.
_SHARED_STYLE = re.compile(r"<style data-shared>(.*?)</style>", re.S)
_local = threading.local()  # pango's font map and the parsed stylesheets are not shared across threads


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF, associated with the document (/AF) with `relationship` when it is a PDF/A-3."""
    name: str
    data: bytes
    relationship: str = "Unspecified"  # Data, Source, Alternative, Supplement (ISO 32000-2, 7.11.3)
    description: str = ""


@dataclass(frozen=True)
class Metadata:
    """What the document information dictionary and the XMP packet say; `xmp` adds rdf:Description elements."""
    title: str
    author: str
    subject: str = ""
    keywords: tuple[str, ...] = ()
    xmp: bytes = b""
    lang: str | None = None  # BCP 47, e.g. fr-FR; the HTML's lang attribute when None
    attachments_panel: bool = False  # readers open the attachments panel (/PageMode /UseAttachments)
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    import jinja2  # ~25 ms: the API functions that never print pay nothing

    return jinja2.Environment(
        loader=jinja2.PackageLoader("billing", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render_html(template: str, context: dict[str, Any]) -> str:
    return _templates().get_template(template).render(**context)


def html_to_pdf(html: str, pdf_variant: str | None = None, *, attachments: tuple[Attachment, ...] = (),
                metadata: Metadata | None = None) -> bytes:
    """`pdf_variant`: e.g. "pdf/a-3b" for an archivable PDF that may carry an e-invoice's XML in `attachments`.
    `metadata` replaces what the HTML's <title> and <meta> say."""
    import weasyprint  # ~600 ms import: only the code paths that render pay it

    fonts, sheets, images, fetcher = _reused()
    shared = _SHARED_STYLE.search(html)
    stylesheets = []
    if shared:
        css = shared.group(1)
        if css not in sheets:
            sheets[css] = weasyprint.CSS(string=css, font_config=fonts)
        stylesheets.append(sheets[css])
        html = html[:shared.start()] + html[shared.end():]
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).render(
        stylesheets=stylesheets, font_config=fonts, cache=images)
    if metadata is not None:
        _describe(document.metadata, metadata)
    return document.write_pdf(
        pdf_variant=pdf_variant,
        # A new weasyprint.Attachment per render: weasyprint writes its checksum onto it while writing.
        attachments=[weasyprint.Attachment(string=a.data, name=a.name, description=a.description,
                                           relationship=a.relationship, url_fetcher=fetcher)
                     for a in attachments] or None,
        finisher=_open_attachments_panel if metadata is not None and metadata.attachments_panel else None,
    )


def _reused():
    """This thread's font configuration, parsed stylesheets (by text), decoded images (by URL: the seller's logo
    is the same data: URL on every invoice) and URL fetcher (weasyprint builds a urllib opener with nine handlers
    for each HTML and each attachment it is not given one for, ~0.5 ms apiece)."""
    if not hasattr(_local, "fonts"):
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        _local.fonts, _local.sheets, _local.images, _local.fetcher = FontConfiguration(), {}, {}, URLFetcher()
    return _local.fonts, _local.sheets, _local.images, _local.fetcher


def _describe(target, metadata: Metadata) -> None:
    """Fills weasyprint's DocumentMetadata: it writes the same values to the information dictionary and the XMP,
    as PDF/A asks."""
    # UTC with a Z: weasyprint writes +00:00 as D:…+00'00, without the closing apostrophe PDF 1.7 shows.
    stamp = metadata.created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    target.title, target.authors, target.description = metadata.title, [metadata.author], metadata.subject
    target.keywords, target.created, target.modified = list(metadata.keywords), stamp, stamp
    target.lang = metadata.lang or target.lang
    if metadata.xmp:
        # Inside weasyprint's rdf:RDF (one per packet), not after it as its xmp_metadata option would put it.
        generate = target.generate_rdf_metadata
        target.generate_rdf_metadata = lambda *args: generate(*args).replace(
            b"</rdf:RDF>", metadata.xmp + b"</rdf:RDF>")


def _open_attachments_panel(document, pdf) -> None:
    pdf.catalog["PageMode"] = "/UseAttachments"
