"""Check a Factur-X PDF: its XML against the Factur-X XSD and schematron (Saxon-HE through saxonche), and the
PDF/A-3 wrapping that carries it (attachment, AF relationship, XMP)."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from .embed import schematron_path, xsd

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
XMP_NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
          "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"}
XML_NAMES = ("factur-x.xml", "ZUGFeRD-invoice.xml")  # ZUGFeRD 2.x PDFs carry the same CII under the old name


@dataclass(frozen=True)
class Finding:
    rule: str  # XSD, a schematron rule id (BR-CO-10, FX-SCH-A-000123 ...), or PDF-* for the wrapping
    severity: str  # error | warning
    message: str
    location: str = ""


@dataclass
class Report:
    attachment: str | None = None
    level: str | None = None  # the Factur-X profile the XML declares (en16931, ...)
    findings: list[Finding] = field(default_factory=list)
    schematron: str | None = None  # the rule set that ran, None when it could not

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


def validate_pdf(body: bytes) -> Report:
    """Everything wrong with a PDF as a Factur-X invoice; no exception for a bad file, a finding instead."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    report = Report()
    try:
        reader = PdfReader(io.BytesIO(body))
        attachments = {a.name: a for a in reader.attachment_list}
    except (PdfReadError, ValueError, KeyError) as exc:
        report.findings.append(Finding("PDF", "error", f"not a readable PDF: {exc}"))
        return report
    name = next((n for n in XML_NAMES if n in attachments), None)
    if name is None:
        report.findings.append(Finding("PDF-ATTACHMENT", "error", "no factur-x.xml embedded in the PDF"))
        return report
    report.attachment, xml = name, attachments[name].content
    report.level = level_of(xml)
    report.findings += _wrapping(reader, name, report.level)
    findings, report.schematron = validate_xml(xml, report.level)
    report.findings += findings
    return report


def validate_xml(xml: bytes, level: str | None = None) -> tuple[list[Finding], str | None]:
    """XSD, then schematron (skipped when the XSD fails: its rules assume the structure). Returns the findings and
    the schematron that ran."""
    try:
        tree = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        return [Finding("XML", "error", f"not well-formed: {exc}")], None
    level = level or level_of(xml)
    if level not in _xmp_levels():
        return [Finding("XML", "error", f"no Factur-X profile declared (BT-24): {level!r}")], None
    schema = xsd(level)
    if not schema.validate(tree):
        return [Finding("XSD", "error", e.message, f"line {e.line}") for e in schema.error_log], None
    path = schematron_path(level)
    try:
        findings = check_schematron(xml, str(path))
    except ImportError:
        return [Finding("SCHEMATRON", "error", "saxonche is not installed (pip install -e '.[dev]')")], None
    return findings, f"{path.name} ({_schematron_version(str(path))})"


def level_of(xml: bytes) -> str | None:
    """The Factur-X profile named by the guideline id (BT-24), e.g. en16931."""
    import facturx

    try:
        return facturx.get_level(etree.fromstring(xml), "factur-x")
    except Exception:  # noqa: BLE001 - the library raises bare Exception for an unknown guideline
        return None


def check_schematron(xml: bytes, stylesheet: str) -> list[Finding]:
    """Runs the compiled schematron (an XSLT producing SVRL) and reads its failed asserts and reports."""
    processor = _saxon()
    svrl = _stylesheet(stylesheet).transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    findings = []
    for node in etree.fromstring(svrl.encode("utf-8")).iter(f"{SVRL}failed-assert", f"{SVRL}successful-report"):
        flag = (node.get("flag") or "fatal").lower()
        text = " ".join((node.findtext(f"{SVRL}text") or "").split())
        rule = node.get("id") or "schematron"
        findings.append(Finding(rule, "warning" if flag in ("warning", "information") else "error",
                                re.sub(rf"^\[{re.escape(rule)}\]\s*-?\s*", "", text), _short(node.get("location"))))
    return findings


def _wrapping(reader, name: str, level: str | None) -> list[Finding]:
    """What Factur-X 1.0 asks of the PDF around the XML: PDF/A-3, the file associated to the document with a
    Data/Source/Alternative relationship, and the fx: XMP properties naming it and its profile."""
    findings = []
    catalog = reader.trailer["/Root"]
    names = ((catalog.get("/Names") or {}).get("/EmbeddedFiles") or {}).get("/Names") or []
    spec = next((names[i + 1].get_object() for i in range(0, len(names), 2) if names[i] == name), None)
    relationship = spec.get("/AFRelationship") if spec is not None else None
    if relationship not in ("/Data", "/Source", "/Alternative"):
        findings.append(Finding("PDF-AF", "error", f"{name} has AFRelationship {relationship}, not /Data"))
    associated = [ref.get_object() for ref in (catalog.get("/AF") or [])]
    if spec is None or not any(entry is spec or entry == spec for entry in associated):
        findings.append(Finding("PDF-AF", "error", f"{name} is not listed in the document's /AF array"))
    if "/OutputIntents" not in catalog:
        findings.append(Finding("PDF-A", "error", "no output intent: not a PDF/A file"))
    xmp = catalog.get("/Metadata")
    root = etree.fromstring(xmp.get_object().get_data()) if xmp is not None else None
    if root is None:
        findings.append(Finding("PDF-XMP", "error", "no XMP metadata"))
        return findings

    def prop(prefix: str, local: str) -> str | None:
        # XMP writes a property either as an attribute or as an element of an rdf:Description.
        for description in root.iter(f"{{{XMP_NS['rdf']}}}Description"):
            tag = f"{{{XMP_NS[prefix]}}}{local}"
            value = description.get(tag) or description.findtext(tag)
            if value:
                return value.strip()
        return None

    if (prop("pdfaid", "part"), prop("pdfaid", "conformance")) not in (("3", "B"), ("3", "U"), ("3", "A")):
        findings.append(Finding("PDF-A", "error", f"XMP declares PDF/A-{prop('pdfaid', 'part')}"
                                f"{prop('pdfaid', 'conformance') or ''}, not PDF/A-3"))
    expected = {"DocumentFileName": name, "DocumentType": "INVOICE", "ConformanceLevel": _xmp_levels().get(level)}
    for local, value in expected.items():
        if prop("fx", local) != value:
            findings.append(Finding("PDF-XMP", "error", f"XMP fx:{local} is {prop('fx', local)!r}, not {value!r}"))
    return findings


def _short(location: str | None) -> str:
    """/*:CrossIndustryInvoice[namespace-uri()='…'][1]/… -> /CrossIndustryInvoice[1]/…"""
    return re.sub(r"\*:([\w-]+)\[namespace-uri\(\)='[^']*'\]", r"\1", location or "")


def _xmp_levels() -> dict[str, str]:
    """Profile -> its fx:ConformanceLevel in the XMP (en16931 -> "EN 16931")."""
    import facturx.facturx as lib

    return lib.FACTURX_LEVEL2xmp


@lru_cache(maxsize=1)
def _saxon():
    from saxonche import PySaxonProcessor  # dev dependency: validation runs in tests and the CLI, not in Lambda

    # One processor per process: SaxonC cannot start a second one after the first is released.
    return PySaxonProcessor(license=False)


@lru_cache(maxsize=4)
def _stylesheet(path: str):
    # Compiled from its file so that document('…_codedb.xml') resolves next to it, offline.
    return _saxon().new_xslt30_processor().compile_stylesheet(stylesheet_file=path)


@lru_cache(maxsize=4)
def _schematron_version(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        head = handle.read(400)
    found = re.search(r"Version:\s*([\d.]+)", head)
    return f"Factur-X {found.group(1)}" if found else "version unknown"
