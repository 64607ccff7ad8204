"""HTML to PDF with jinja2 + weasyprint. weasyprint is imported on first render, never at cold start."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("billing", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render_html(template: str, context: dict[str, Any]) -> str:
    return _templates().get_template(template).render(**context)


def html_to_pdf(html: str, pdf_variant: str | None = None) -> bytes:
    """`pdf_variant`: e.g. "pdf/a-3b" for an archivable PDF that may carry an e-invoice's XML."""
    import weasyprint  # ~600 ms import: only the code paths that render pay it

    return weasyprint.HTML(string=html, base_url=None).write_pdf(pdf_variant=pdf_variant)
