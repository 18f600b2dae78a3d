"""What the money mutations share (SPEC §2 Billing: payments; issue 7): amounts from the
edge, the leader's billing MANAGE check, and global IDs of billing rows. Payments are
returned as ``api.schema.billing.Payment``.

The mutations themselves: ``api.schema.bank_account_mutations`` (bankAccountAdd, -Remove,
-SetAutopay), ``api.schema.payment_mutations`` (paymentCreate, paymentRecord),
``api.schema.payment_reverse`` (paymentReverse) and ``api.schema.adjustment_mutations``
(adjustmentPost, invoiceWriteOff).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import strawberry
from graphql import GraphQLError

from api.services.bank_data import BankDataCipher, cipher_for
from api.services.money import decimal_to_cents
from api.services.rules import Problem, RuleViolation
from db import models
from db.models import AccessLevel, AuditOutcome

MAX_AMOUNT = Decimal("99999999.99")
_CENT = Decimal("0.01")


def amount_cents(amount: Decimal, field: tuple[str, ...] = ("amount",)) -> int:
    """Exact cents of a ``Decimal`` amount from the edge; ``AMOUNT_INVALID`` for fractions
    of a cent or more than ``MAX_AMOUNT`` either way (money is never rounded silently)."""
    try:
        exact = (
            amount.is_finite() and abs(amount) <= MAX_AMOUNT and amount == amount.quantize(_CENT)
        )
    except InvalidOperation:
        exact = False
    if not exact:
        message = (
            f"Enter the amount in dollars and whole cents (e.g. 125.40), at most {MAX_AMOUNT}."
        )
        raise RuleViolation([Problem("AMOUNT_INVALID", message, field)])
    return decimal_to_cents(amount)


def ensure_manages_billing(info: strawberry.Info, group: models.Group, action: str) -> None:
    """A benefit leader needs billing MANAGE on the group (representatives reach every
    group); a denial is audited and is a FORBIDDEN error, not a userError (SPEC §3)."""
    if info.context.principal.may_access(group.id, "billing", AccessLevel.MANAGE):
        return
    info.context.audit.record(
        f"denied:{action}",
        target_type="Group",
        target_id=group.group_number,
        outcome=AuditOutcome.DENIED,
    )
    raise GraphQLError(
        "You do not have permission to manage this group's billing (billing MANAGE).",
        extensions={"code": "FORBIDDEN"},
    )


def bank_cipher(info: strawberry.Info) -> BankDataCipher:
    return cipher_for(info.context.settings.bank_data_key.get_secret_value())
