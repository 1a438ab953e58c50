"""PDFs: an invoice or credit note, and a broker's commission statement.

Rendered from Django templates by xhtml2pdf (pure-Python wheels on reportlab: nothing
to install from the operating system, unlike WeasyPrint's pango). An invoice's PDF
is rendered once and kept: the document sent is the document of record.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from xhtml2pdf import pisa

from billing.models import Invoice, InvoiceDocument
from notifications.formatting import format_datetime


class PdfError(Exception):
    pass


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template_name, context)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise PdfError(f"{template_name} could not be rendered ({result.err} errors).")
    return out.getvalue()


def invoice_pdf(*, invoice: Invoice) -> bytes:
    """The invoice's PDF: the stored one, or rendered now and stored (once)."""
    stored = InvoiceDocument.objects.filter(invoice=invoice).values_list("pdf", flat=True).first()
    if stored is not None:
        return bytes(stored)
    pdf = render_pdf(
        "billing/pdf/invoice.html",
        {
            "invoice": invoice,
            "lines": list(invoice.lines.all()),
            "issued": format_datetime(invoice.issued_at),
            "seller": settings.BILLING_SELLER,
        },
    )
    try:
        with transaction.atomic():
            InvoiceDocument.objects.create(
                invoice=invoice, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest()
            )
    except IntegrityError:
        # Another process stored it first: theirs is the document of record.
        return bytes(InvoiceDocument.objects.get(invoice=invoice).pdf)
    return pdf


def invoice_filename(invoice: Invoice) -> str:
    return f"{invoice.get_kind_display().lower().replace(' ', '-')}-{invoice.number}.pdf"
