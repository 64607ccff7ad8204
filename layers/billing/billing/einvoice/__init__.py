"""EU e-invoicing: issued invoices and credit notes as Factur-X EN 16931 PDFs (PDF/A-3b with their CII XML)."""
from .render import credit_note_pdf, invoice_pdf

__all__ = ["credit_note_pdf", "invoice_pdf"]
