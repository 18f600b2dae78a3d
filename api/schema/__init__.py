"""The GraphQL schema: types, root fields and the server's protective extensions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.schema.access_issue_mutations import AccessIssueMutations
from api.schema.access_issue_report import AccessIssueReportMutations
from api.schema.adjustment_mutations import AdjustmentMutations
from api.schema.bank_account_mutations import BankAccountMutations
from api.schema.billing_runs import BillingRunMutations
from api.schema.cob_mutations import CobMutations
from api.schema.contacts import ContactMutations
from api.schema.delinquency_episodes import DelinquencyEpisodeMutations
from api.schema.delinquency_letter_mutations import DelinquencyLetterMutations
from api.schema.delinquency_runs import DelinquencyRunMutations
from api.schema.delinquency_settings import DelinquencySettingsMutations
from api.schema.dual_coverage import DualCoverageMutations
from api.schema.eligibility_changes import EligibilityChangeMutations
from api.schema.eligibility_file_review import EligibilityFileReviewMutations
from api.schema.eligibility_files import EligibilityFileMutations
from api.schema.eligibility_preview import EligibilityPreviewMutations
from api.schema.eligibility_review import EligibilityReviewMutations
from api.schema.errors import ErrorPolicy
from api.schema.group_activate import GroupActivateMutations
from api.schema.group_mutations import GroupMutations
from api.schema.group_termination import GroupTerminationMutations
from api.schema.id_card_mutations import IdCardMutations
from api.schema.invoice_mutations import InvoiceMutations
from api.schema.limits import max_directives_rule
from api.schema.login_support import LoginSupportMutations
from api.schema.member_merge import MemberMergeMutations
from api.schema.payment_mutations import PaymentMutations
from api.schema.payment_reverse import PaymentReverseMutations
from api.schema.query import Query
from api.schema.rates import RateMutations
from api.schema.remittance_mutations import RemittanceMutations
from api.schema.user_email_change import UserEmailChangeMutations
from api.schema.web_access import WebAccessMutations
from api.settings import Settings


def _extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories: Strawberry builds fresh extension instances for each operation."""
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        partial(ParserCache, maxsize=512),
        partial(AddValidationRules, [max_directives_rule(settings.max_directives)]),
        partial(QueryDepthLimiter, max_depth=settings.max_query_depth),
        partial(MaxAliasesLimiter, max_alias_count=settings.max_aliases),
        partial(ValidationCache, maxsize=512),
        partial(ErrorPolicy, mask_unexpected=settings.masks_errors),
    ]
    if settings.is_production:
        extensions.append(DisableIntrospection)
    return extensions


Mutation = merge_types(
    "Mutation",
    (
        GroupMutations,
        GroupActivateMutations,
        RateMutations,
        ContactMutations,
        WebAccessMutations,
        IdCardMutations,
        CobMutations,
        EligibilityChangeMutations,
        EligibilityFileMutations,
        EligibilityFileReviewMutations,
        BillingRunMutations,
        DelinquencyRunMutations,
        DelinquencyEpisodeMutations,
        InvoiceMutations,
        GroupTerminationMutations,
        EligibilityPreviewMutations,
        EligibilityReviewMutations,
        MemberMergeMutations,
        DualCoverageMutations,
        BankAccountMutations,
        PaymentMutations,
        PaymentReverseMutations,
        AdjustmentMutations,
        RemittanceMutations,
        DelinquencyLetterMutations,
        DelinquencySettingsMutations,
        LoginSupportMutations,
        UserEmailChangeMutations,
        AccessIssueReportMutations,
        AccessIssueMutations,
    ),
)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with limits from ``settings``; introspection only in development."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=_extensions(settings),
        config=StrawberryConfig(disable_field_suggestions=True),
    )


def schema_sdl() -> str:
    """The SDL checked in as ``schema.graphql`` (extensions do not change it)."""
    return strawberry.Schema(query=Query, mutation=Mutation).as_str() + "\n"
