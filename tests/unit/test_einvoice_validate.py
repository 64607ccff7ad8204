"""Factur-X PDFs end to end without servers: rendering, the PDF/A-3 wrapping, the validator and its command."""
from __future__ import annotations

import io

import pytest
from lxml import etree
from pypdf import PdfReader, PdfWriter

from billing import einvoice
from billing.cli import main
from billing.config import Settings, settings
from billing.einvoice import cii
from billing.einvoice.embed import facturx_pdf
from billing.einvoice.validate import validate_pdf
from billing.ports import pdf
from billing.services.invoices.document import render_context
from tests.unit.test_einvoice_cii import ITEMS, invoice_row


@pytest.fixture
def profile(monkeypatch):
    def use(value: str) -> None:
        monkeypatch.setenv("EINVOICE_PROFILE", value)
        settings.cache_clear()

    yield use
    monkeypatch.delenv("EINVOICE_PROFILE", raising=False)
    settings.cache_clear()


def render(invoice: dict) -> bytes:
    context = render_context(invoice, ITEMS)
    return einvoice.invoice_pdf(pdf.render_html("invoice.html", context), invoice, ITEMS, context["l"])


@pytest.fixture(scope="module")
def facturx() -> bytes:
    return render(invoice_row())


def test_an_issued_invoice_renders_as_a_valid_factur_x_pdf_a3(facturx):
    report = validate_pdf(facturx)
    assert (report.attachment, report.level, report.findings) == ("factur-x.xml", "en16931", [])
    assert facturx.startswith(b"%PDF-") and facturx.count(b"%PDF-") == 1  # one PDF, nothing left in front of it
    reader = PdfReader(io.BytesIO(facturx))
    catalog = reader.trailer["/Root"]
    spec = catalog["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
    assert (spec["/AFRelationship"], spec["/EF"]["/F"].get_object()["/Subtype"]) == ("/Data", "/text/xml")
    xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
    fx = "{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}"
    assert xmp.findtext(f".//{fx}ConformanceLevel") == "EN 16931"
    assert "/OutputIntents" in catalog and reader.trailer.get("/ID")
    assert "INV-2026-000042" in reader.pages[0].extract_text()


def test_einvoice_profile_none_stores_a_plain_pdf_and_the_validator_says_so(profile, tmp_path, capsys):
    profile("none")
    body = render(invoice_row())
    assert list(PdfReader(io.BytesIO(body)).attachment_list) == []
    (tmp_path / "plain.pdf").write_bytes(body)
    assert main(["einvoice", "validate", str(tmp_path / "plain.pdf")]) == 1
    assert "error [PDF-ATTACHMENT] no factur-x.xml embedded" in capsys.readouterr().out


def test_einvoice_profile_accepts_only_en16931_or_none(profile):
    profile("EN16931")
    assert settings().einvoice_profile == "en16931"
    profile("ubl")
    with pytest.raises(ValueError, match="EINVOICE_PROFILE"):
        Settings.from_env()


def test_the_command_exits_0_on_a_valid_file_and_1_naming_the_rule_on_a_broken_one(facturx, tmp_path, capsys):
    good = tmp_path / "good.pdf"
    good.write_bytes(facturx)
    assert main(["einvoice", "validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "factur-x.xml, profile en16931" in out and "0 error(s), 0 warning(s)" in out

    # The same PDF wrapping an XML whose due amount disagrees with its total: the schematron refuses it.
    reader = PdfReader(io.BytesIO(facturx))
    xml = next(reader.attachment_list).content.replace(b"<ram:DuePayableAmount>19.80<", b"<ram:DuePayableAmount>9.80<")
    html = pdf.render_html("invoice.html", render_context(invoice_row(), ITEMS))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(facturx_pdf(html, xml, title="t", author="a", subject="s", lang="fr-FR"))
    assert main(["einvoice", "validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "error [BR-CO-16]" in out and "1 error(s)" in out


def test_an_xml_that_breaks_the_xsd_is_never_embedded():
    with pytest.raises(etree.DocumentInvalid):
        facturx_pdf("<p>x</p>", b"<rsm:CrossIndustryInvoice xmlns:rsm='urn:un:unece:uncefact:data:standard:"
                    b"CrossIndustryInvoice:100'/>", title="t", author="a", subject="s")


def test_a_file_that_is_not_a_pdf_is_an_error_not_a_crash(tmp_path, capsys):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    assert main(["einvoice", "validate", str(junk), str(tmp_path / "missing.pdf")]) == 1
    out = capsys.readouterr().out
    assert "error [PDF] not a readable PDF" in out and "missing.pdf: cannot read" in out


def test_an_invoice_with_no_line_is_stored_as_a_plain_pdf_since_en16931_has_none_without_one():
    invoice = invoice_row(subtotal_minor=0, tax_minor=0, total_minor=0)
    html = pdf.render_html("invoice.html", render_context(invoice, []))
    body = einvoice.invoice_pdf(html, invoice, [], render_context(invoice, [])["l"])
    assert list(PdfReader(io.BytesIO(body)).attachment_list) == []


def test_a_pdf_carrying_the_xml_without_the_pdf_a3_wrapping_is_refused_for_its_wrapping():
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("factur-x.xml", cii.invoice_xml(invoice_row(), ITEMS))
    body = io.BytesIO()
    writer.write(body)
    report = validate_pdf(body.getvalue())
    assert [(f.rule, f.severity) for f in report.findings] == [
        ("PDF-AF", "error"), ("PDF-AF", "error"), ("PDF-A", "error"), ("PDF-XMP", "error")]
    assert report.schematron  # the XML itself is still checked, and passes
