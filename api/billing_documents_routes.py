"""Invoice downloads: ``GET /documents/invoices/{invoice}.pdf`` (SPEC §2 Billing: invoices
are downloadable documents), where ``{invoice}`` is the number in ``Invoice.pdfPath``.

Authenticated like the API and the ID card: no token → 401; a token without
``billing:read`` → 403; an invoice the caller cannot see (another group's, a group without
the caller's billing access, a leader asking for a DRAFT, or none) → 404, the same answer
for each (SPEC §3). Each download is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth.access_tokens import TokenIssuer
from api.auth.policy import BILLING_READ
from api.auth.principal import Principal
from api.documents.invoice_pdf import (
    AccountSummary,
    InvoiceContent,
    PdfLine,
    PlanSection,
    render_invoice,
)
from api.documents_routes import AuthenticatedDownload, error_response
from api.services.audit import AuditTrail
from api.settings import Settings
from db.models import AuditOutcome, CoverageTier, Group, Invoice, InvoiceLineKind
from db.queries import billing as queries
from db.queries.billing import LineRow

TIER_LABELS = {
    CoverageTier.EMPLOYEE: "Employee",
    CoverageTier.EMPLOYEE_SPOUSE: "Employee + spouse",
    CoverageTier.EMPLOYEE_CHILDREN: "Employee + children",
    CoverageTier.FAMILY: "Family",
}
"""Where groups mail checks (printed under the carrier's name on the stub)."""
_NOT_FOUND = "No invoice with this number is visible to you."


def _pk(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _address(group: Group) -> list[str]:
    street = [group.address_line1, *([group.address_line2] if group.address_line2 else [])]
    return [*street, f"{group.city}, {group.state} {group.postal_code}"]


def _sections(lines: Sequence[LineRow]) -> list[PlanSection]:
    """Lines grouped by plan (they arrive ordered by plan code)."""
    return [
        PlanSection(code, name, [_pdf_line(line) for line in plan_lines])
        for (code, name), plan_lines in groupby(lines, key=lambda ln: (ln.plan_code, ln.plan_name))
    ]


def _pdf_line(line: LineRow) -> PdfLine:
    return PdfLine(
        member_name=f"{line.first_name} {line.last_name}", member_id=line.member_id,
        tier=TIER_LABELS[line.tier], service_month=line.service_month,
        amount_cents=line.amount_cents, retro=line.kind is InvoiceLineKind.RETRO,
        explanation=line.explanation,
    )  # fmt: skip


async def invoice_content(
    session: AsyncSession, principal: Principal, invoice: Invoice, settings: Settings
) -> InvoiceContent:
    """What the PDF of an invoice (read through a scoped query) prints."""
    group = await queries.group_of(session, invoice)
    account = await queries.statement(session, invoice)
    lines = (await queries.lines_by_invoice(session, principal, [invoice.id])).get(invoice.id, [])
    issued = invoice.issued_at or invoice.created_at
    return InvoiceContent(
        carrier_name=settings.carrier_name,
        remit_to=[settings.carrier_name, *settings.remittance_address.split("|")],
        invoice_number=queries.invoice_number(invoice.id), status=invoice.status.value,
        group_number=group.group_number, group_name=group.name, group_address=_address(group),
        month=invoice.month, invoice_date=issued.date(), due_date=invoice.due_date,
        summary=AccountSummary(account.previous_balance, account.payments, account.adjustments,
                               account.current_charges, account.total_due),
        sections=_sections(lines),
    )  # fmt: skip


def _pdf(body: bytes, number: str) -> Response:
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="invoice-{number}.pdf"',
    }
    return Response(body, media_type="application/pdf", headers=headers)


async def _visible_invoice(session: AsyncSession, principal: Principal, pk: int) -> Invoice | None:
    return (await queries.invoices_by_ids(session, principal, [pk])).get(pk)


class InvoiceDownload(AuthenticatedDownload):
    """``GET /documents/invoices/{id}.pdf``."""

    async def _respond(
        self, session: AsyncSession, principal: Principal, trail: AuditTrail, request: Request
    ) -> Response:
        if not principal.has_scope(BILLING_READ):
            trail.record("denied:invoice.download", outcome=AuditOutcome.DENIED)
            return error_response(
                403, "FORBIDDEN", f"You do not have permission for this ({BILLING_READ})."
            )
        pk = _pk(str(request.path_params["invoice_id"]))
        invoice = None if pk is None else await _visible_invoice(session, principal, pk)
        if invoice is None:
            return error_response(404, "NOT_FOUND", _NOT_FOUND)
        content = await invoice_content(session, principal, invoice, self.settings)
        trail.record("invoice.download", target_type="Invoice", target_id=str(invoice.id))
        return _pdf(render_invoice(content), content.invoice_number)


def billing_document_routes(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, issuer: TokenIssuer
) -> list[Route]:
    """The invoice download route, for ``create_app``."""
    handler = InvoiceDownload(sessions, settings, issuer)
    return [Route("/documents/invoices/{invoice_id}.pdf", handler.download, methods=["GET"])]
