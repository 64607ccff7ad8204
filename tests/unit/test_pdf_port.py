"""billing.ports.pdf: the shared stylesheet parsed once per text, attachments and metadata in one pass."""
from __future__ import annotations

import io

from pypdf import PdfReader

from billing.ports import pdf


def _page_size(body: bytes) -> tuple[int, int]:
    box = PdfReader(io.BytesIO(body)).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def test_a_shared_style_block_applies_and_a_changed_one_is_parsed_anew():
    a5 = "<html><head><style data-shared>@page { size: A5 }</style></head><body><p>x</p></body></html>"
    assert _page_size(pdf.html_to_pdf(a5)) == (420, 595)
    assert _page_size(pdf.html_to_pdf(a5)) == (420, 595)  # from the parsed stylesheet kept for this text
    assert _page_size(pdf.html_to_pdf(a5.replace("A5", "A6"))) == (298, 420)


def test_an_attachment_and_metadata_are_written_in_the_same_pass():
    body = pdf.html_to_pdf(
        "<p>x</p>", "pdf/a-3b", attachments=(pdf.Attachment("data.xml", b"<a/>", relationship="Data"),),
        metadata=pdf.Metadata(title="T", author="A", subject="S", xmp=b'<rdf:Description rdf:about="" '
                              b'xmlns:z="urn:z#"><z:k>v</z:k></rdf:Description>', attachments_panel=True))
    reader = PdfReader(io.BytesIO(body))
    catalog = reader.trailer["/Root"]
    assert [(a.name, a.content) for a in reader.attachment_list] == [("data.xml", b"<a/>")]
    assert catalog["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    assert catalog["/PageMode"] == "/UseAttachments"
    assert (reader.metadata.title, reader.metadata.author, reader.metadata.subject) == ("T", "A", "S")
    xmp = catalog["/Metadata"].get_object().get_data()
    assert xmp.count(b"<rdf:RDF") == 1 and b"<z:k>v</z:k></rdf:Description></rdf:RDF>" in xmp
