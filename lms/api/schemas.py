"""The JSON shapes of the API (marshmallow; the OpenAPI document is generated from them).

Times are UTC ISO 8601; dates ISO 8601 (WIB calendar days). Regions and kecamatan are named by
their BPS codes. Fields that depend on the token's rights are optional (left out, not null).
"""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields as f
from marshmallow import validate as v

from .models import SCOPES
from .paging import ListArgs, page_schema

REGION_CODE = v.Regexp(r"^[0-9]{4}$", error="String does not match expected pattern.")
KECAMATAN_CODE = v.Regexp(r"^[0-9]{7}$", error="String does not match expected pattern.")


def _d(text: str) -> dict[str, str]:
    return {"description": text}


class Out(ma.Schema):
    """Response schemas: dumped from dicts the views build; nothing but the declared fields leaves."""

    class Meta:
        ordered = True


# --- problems ---------------------------------------------------------------------------------------

class FieldErrorSchema(Out):
    field = f.String(required=True, metadata=_d("The field (dotted for nested ones; empty: the whole input)."))
    in_ = f.String(required=True, data_key="in", metadata=_d("query, path, header or body."))
    detail = f.String(required=True)


class ProblemSchema(Out):
    """RFC 9457 problem details (application/problem+json)."""

    type = f.String(required=True, metadata=_d("A URI naming the problem type (its documentation)."))
    title = f.String(required=True)
    status = f.Integer(required=True)
    detail = f.String(required=True)
    instance = f.String(allow_none=True, metadata=_d("The path and query of the request."))
    errors = f.List(f.Nested(FieldErrorSchema), metadata=_d("Validation problems, one per field and message."))
    required_scope = f.String(metadata=_d("The scope the operation needs (insufficient-scope)."))


# --- references -----------------------------------------------------------------------------------------

class RegionRef(Out):
    code = f.String(required=True, metadata=_d("BPS code, e.g. 3171"))
    name = f.String(required=True)


class KecamatanRef(Out):
    code = f.String(required=True, metadata=_d("BPS code, e.g. 3171010"))
    name = f.String(required=True)


class PersonRef(Out):
    id = f.Integer(required=True)
    name = f.String(required=True)


class OutletRef(Out):
    id = f.Integer(required=True)
    code = f.String(required=True)
    name = f.String(required=True)


# --- reference data ----------------------------------------------------------------------------------------

class RegionSchema(Out):
    code = f.String(required=True, metadata=_d("BPS code of the kota/kabupaten administrasi"))
    name = f.String(required=True)


class KecamatanSchema(Out):
    code = f.String(required=True, metadata=_d("BPS seven-digit code"))
    name = f.String(required=True)
    region_code = f.String(required=True)


RegionList = page_schema(RegionSchema, "RegionList")
KecamatanList = page_schema(KecamatanSchema, "KecamatanList")


class KecamatanArgs(ListArgs):
    region = f.String(validate=REGION_CODE, metadata=_d("Region BPS code"))


# --- outlets ---------------------------------------------------------------------------------------------------

class OutletSchema(Out):
    id = f.Integer(required=True)
    code = f.String(required=True)
    name = f.String(required=True)
    kube_name = f.String(required=True)
    address = f.String(required=True)
    kelurahan = f.String(required=True)
    kecamatan = f.Nested(KecamatanRef, required=True)
    region = f.Nested(RegionRef, required=True)
    active = f.Boolean(required=True)
    last_visit_on = f.Date(required=True, allow_none=True, metadata=_d("WIB day of the latest mentor visit"))
    manager = f.Nested(PersonRef, required=True, allow_none=True)
    phone = f.String(allow_none=True, metadata=_d("Only for tokens whose user may edit the outlet"))
    created_at = f.DateTime(required=True)
    updated_at = f.DateTime(required=True)


OutletList = page_schema(OutletSchema, "OutletList")


class OutletArgs(ListArgs):
    region = f.String(validate=REGION_CODE, metadata=_d("Region BPS code"))
    kecamatan = f.String(validate=KECAMATAN_CODE, metadata=_d("Kecamatan BPS code"))
    active = f.Boolean()


# --- people ------------------------------------------------------------------------------------------------------

class PersonSchema(Out):
    id = f.Integer(required=True)
    name = f.String(required=True)
    role = f.String(required=True, validate=v.OneOf(["trainee", "mentor", "coordinator", "admin"]))
    region = f.Nested(RegionRef, required=True, allow_none=True)
    active = f.Boolean(required=True)
    email = f.String(allow_none=True, metadata=_d("Only when the token's user may edit this person"))
    phone = f.String(allow_none=True, metadata=_d("Only when the token's user may edit this person"))
    updated_at = f.DateTime(required=True)


PersonList = page_schema(PersonSchema, "PersonList")


class PersonArgs(ListArgs):
    region = f.String(validate=REGION_CODE)
    role = f.String(validate=v.OneOf(["trainee", "mentor", "coordinator", "admin"]))


# --- cohorts and enrolments --------------------------------------------------------------------------------------

class StageSchema(Out):
    key = f.String(required=True)
    number = f.Integer(required=True)
    name = f.String(required=True, metadata=_d("In the language of Accept-Language"))


class StageCountSchema(Out):
    stage = f.String(required=True, metadata=_d("A stage key, or `done` for enrolments past the last stage"))
    count = f.Integer(required=True)


class CohortSchema(Out):
    id = f.Integer(required=True)
    name = f.String(required=True)
    curriculum_key = f.String(required=True)
    start_date = f.Date(required=True)
    end_date = f.Date(required=True)
    regions = f.List(f.Nested(RegionRef), required=True)
    stages = f.List(f.Nested(StageSchema), required=True)
    updated_at = f.DateTime(required=True)


class CohortDetailSchema(CohortSchema):
    stage_counts = f.List(f.Nested(StageCountSchema), required=True,
                          metadata=_d("Active enrolments the token's user may see, per current stage"))


CohortList = page_schema(CohortSchema, "CohortList")


class MilestoneSchema(Out):
    key = f.String(required=True)
    kind = f.String(required=True, metadata=_d("automatic or verified"))
    name = f.String(required=True)
    met = f.Boolean(required=True)
    count = f.Integer(required=True)
    threshold = f.Integer(required=True)
    evidence_state = f.String(required=True, allow_none=True)


class StageProgressSchema(Out):
    key = f.String(required=True)
    number = f.Integer(required=True)
    status = f.String(required=True, validate=v.OneOf(["done", "current", "locked"]))
    completed_at = f.DateTime(required=True, allow_none=True)
    milestones = f.List(f.Nested(MilestoneSchema), metadata=_d("Enrolment detail only"))


class EnrolmentSchema(Out):
    id = f.Integer(required=True)
    cohort_id = f.Integer(required=True)
    status = f.String(required=True, validate=v.OneOf(["active", "ended", "withdrawn"]))
    person = f.Nested(PersonRef, required=True)
    outlet = f.Nested(OutletRef, required=True)
    region = f.Nested(RegionRef, required=True)
    kecamatan = f.Nested(KecamatanRef, required=True)
    started_at = f.DateTime(required=True)
    ended_at = f.DateTime(required=True, allow_none=True)
    current_stage = f.String(required=True, allow_none=True, metadata=_d("null when every stage is complete"))
    completed_count = f.Integer(required=True)
    total_stages = f.Integer(required=True)
    completed_at = f.DateTime(required=True, allow_none=True)
    progress_changed_at = f.DateTime(required=True)
    stages = f.List(f.Nested(StageProgressSchema), required=True)
    updated_at = f.DateTime(required=True)


EnrolmentList = page_schema(EnrolmentSchema, "EnrolmentList")


class EnrolmentArgs(ListArgs):
    region = f.String(validate=REGION_CODE)
    kecamatan = f.String(validate=KECAMATAN_CODE)
    stage = f.String(validate=v.Length(max=40), metadata=_d("A stage key, or `done`"))
    status = f.String(validate=v.OneOf(["active", "ended", "withdrawn"]), metadata=_d("Default: active"))


class AllEnrolmentArgs(EnrolmentArgs):
    cohort = f.Integer(validate=v.Range(1, 2**31 - 1), metadata=_d("Cohort id"))


# --- sessions ------------------------------------------------------------------------------------------------------

class SpeakerSchema(Out):
    name = f.String(required=True)
    agency = f.String(required=True)
    agency_other = f.String(required=True)


class PlaceSchema(Out):
    status = f.String(required=True, validate=v.OneOf(["registered", "waitlisted"]))
    waitlist_position = f.Integer(required=True, allow_none=True)
    attendance = f.String(required=True, allow_none=True)


class SessionSchema(Out):
    id = f.Integer(required=True)
    title = f.String(required=True)
    stage_key = f.String(required=True)
    cohort_id = f.Integer(required=True)
    region = f.Nested(RegionRef, required=True)
    venue_name = f.String(required=True)
    venue_address = f.String(required=True)
    starts_at = f.DateTime(required=True)
    ends_at = f.DateTime(required=True)
    capacity = f.Integer(required=True)
    seats_taken = f.Integer(required=True)
    status = f.String(required=True, validate=v.OneOf(["scheduled", "cancelled"]))
    backdated = f.Boolean(required=True)
    certificate_kind = f.String(required=True, allow_none=True)
    speakers = f.List(f.Nested(SpeakerSchema), required=True)
    updated_at = f.DateTime(required=True)


class SessionDetailSchema(SessionSchema):
    registration_open = f.Boolean(required=True)
    my_place = f.Nested(PlaceSchema, required=True, allow_none=True,
                        metadata=_d("The token user's own registration, if any"))


SessionList = page_schema(SessionSchema, "SessionList")


class SessionArgs(ListArgs):
    region = f.String(validate=REGION_CODE)
    cohort = f.Integer(validate=v.Range(1, 2**31 - 1))
    stage = f.String(validate=v.Length(max=40))
    starts_from = f.AwareDateTime(default_timezone=timezone.utc, metadata=_d("Sessions starting at or after"))
    starts_before = f.AwareDateTime(default_timezone=timezone.utc, metadata=_d("Sessions starting before"))


class RegistrationResultSchema(Out):
    session_id = f.Integer(required=True)
    status = f.String(required=True, validate=v.OneOf(["registered", "waitlisted", "cancelled"]))
    waitlist_position = f.Integer(required=True, allow_none=True)


# --- certificates ------------------------------------------------------------------------------------------------

class CertificateSchema(Out):
    id = f.Integer(required=True)
    serial = f.String(required=True)
    kind = f.String(required=True)
    status = f.String(required=True, validate=v.OneOf(["active", "revoked"]))
    holder = f.Nested(PersonRef, required=True)
    subject_type = f.String(required=True)
    subject_title = f.String(required=True)
    session_id = f.Integer(required=True, allow_none=True)
    enrolment_id = f.Integer(required=True, allow_none=True)
    cohort_id = f.Integer(required=True, allow_none=True)
    region = f.Nested(RegionRef, required=True)
    outlet_code = f.String(required=True)
    outlet_name = f.String(required=True)
    issued_at = f.DateTime(required=True)
    revoked_at = f.DateTime(required=True, allow_none=True)
    replaces_id = f.Integer(required=True, allow_none=True)
    verify_url = f.String(required=True)
    updated_at = f.DateTime(required=True)


CertificateList = page_schema(CertificateSchema, "CertificateList")


class CertificateArgs(ListArgs):
    region = f.String(validate=REGION_CODE)
    cohort = f.Integer(validate=v.Range(1, 2**31 - 1))
    kind = f.String(validate=v.Length(max=32))
    status = f.String(validate=v.OneOf(["active", "revoked"]))


class VerificationSchema(Out):
    """What the public verify page shows, as JSON."""

    valid = f.Boolean(required=True, metadata=_d("true while the certificate is active"))
    status = f.String(required=True, validate=v.OneOf(["active", "revoked"]))
    serial = f.String(required=True)
    kind = f.String(required=True)
    kind_name = f.String(required=True)
    holder_name = f.String(required=True, allow_none=True, metadata=_d("null once erased at the holder's request"))
    subject_title = f.String(required=True)
    dates = f.String(required=True, allow_none=True)
    issued_at = f.DateTime(required=True)
    revoked_at = f.DateTime(required=True, allow_none=True)
    replaced_by_serial = f.String(required=True, allow_none=True)


# --- dashboard -----------------------------------------------------------------------------------------------------

class NamedCountSchema(Out):
    key = f.String(required=True)
    name = f.String(required=True)
    count = f.Integer(required=True)


class CoverageSchema(Out):
    outlets = f.Integer(required=True)
    visited_recently = f.Integer(required=True)
    overdue = f.Integer(required=True)
    never_visited = f.Integer(required=True)
    past_due_actions = f.Integer(required=True)
    window_days = f.Integer(required=True)
    overdue_days = f.Integer(required=True)


class MonthCountSchema(Out):
    month = f.String(required=True, metadata=_d("YYYY-MM"))
    count = f.Integer(required=True)


class SessionStatsSchema(Out):
    upcoming = f.Integer(required=True)
    upcoming_fill_rate = f.Float(required=True, allow_none=True)
    past_attendance_rate = f.Float(required=True, allow_none=True)


class DashboardSchema(Out):
    regions = f.List(f.String(), required=True, metadata=_d("BPS codes the counts cover"))
    cohort_id = f.Integer(required=True, allow_none=True)
    kecamatan = f.String(required=True, allow_none=True)
    enrolled = f.Integer(required=True)
    completed = f.Integer(required=True)
    stages = f.List(f.Nested(NamedCountSchema), required=True)
    stuck_days = f.Integer(required=True)
    stuck_total = f.Integer(required=True)
    stuck_by_stage = f.List(f.Nested(NamedCountSchema), required=True)
    coverage = f.Nested(CoverageSchema, required=True)
    sessions = f.Nested(SessionStatsSchema, required=True)
    certificates_by_month = f.List(f.Nested(MonthCountSchema), required=True)
    completions_by_month = f.List(f.Nested(MonthCountSchema), required=True)


class DashboardArgs(ma.Schema):
    region = f.String(validate=REGION_CODE)
    kecamatan = f.String(validate=KECAMATAN_CODE)
    cohort = f.Integer(validate=v.Range(1, 2**31 - 1))


class TokenInfoSchema(Out):
    """The token making the request (``GET /me``)."""

    person = f.Nested(PersonSchema, required=True)
    token_name = f.String(required=True)
    token_prefix = f.String(required=True)
    scopes = f.List(f.String(validate=v.OneOf(SCOPES)), required=True)
    expires_at = f.DateTime(required=True)


# --- visits ----------------------------------------------------------------------------------------------------------

class ActionItemSchema(Out):
    id = f.Integer(required=True)
    description = f.String(required=True)
    owner = f.String(required=True)
    due_on = f.Date(required=True)
    done = f.Boolean(required=True)


class VisitSchema(Out):
    id = f.Integer(required=True)
    outlet = f.Nested(OutletRef, required=True)
    mentor = f.Nested(PersonRef, required=True)
    region = f.Nested(RegionRef, required=True)
    visited_at = f.DateTime(required=True)
    duration_minutes = f.Integer(required=True)
    kind = f.String(required=True, validate=v.OneOf(["field_visit", "phone_call", "group_meeting"]))
    stages = f.List(f.String(), required=True)
    observations = f.String(required=True)
    staff_notes = f.String(metadata=_d("Staff only"))
    next_visit_on = f.Date(required=True, allow_none=True)
    action_items = f.List(f.Nested(ActionItemSchema), required=True)
    client_key = f.String(required=True, metadata=_d("The Idempotency-Key it was made with"))
    created_at = f.DateTime(required=True)
    updated_at = f.DateTime(required=True)


VisitList = page_schema(VisitSchema, "VisitList")


class VisitArgs(ListArgs):
    region = f.String(validate=REGION_CODE)
    outlet = f.Integer(validate=v.Range(1, 2**31 - 1))


class ActionItemIn(ma.Schema):
    description = f.String(required=True, validate=v.Length(max=2000))
    owner = f.String(required=True, validate=v.Length(max=160))
    due_on = f.Date(required=True)


class VisitIn(ma.Schema):
    """A visit logged from a mobile client (the offline form's fields)."""

    outlet_id = f.Integer(required=True, validate=v.Range(1, 2**31 - 1))
    visited_at = f.AwareDateTime(required=True, default_timezone=timezone.utc)
    duration_minutes = f.Integer(required=True, validate=v.Range(1, 24 * 60))
    kind = f.String(required=True, validate=v.OneOf(["field_visit", "phone_call", "group_meeting"]))
    stages = f.List(f.String(validate=v.Length(max=40)), required=True, validate=v.Length(min=1, max=20))
    observations = f.String(required=True, validate=v.Length(min=1, max=20000))
    staff_notes = f.String(load_default="", validate=v.Length(max=20000))
    next_visit_on = f.Date(load_default=None, allow_none=True)
    action_items = f.List(f.Nested(ActionItemIn), load_default=list, validate=v.Length(max=20))


class IdempotencyHeader(ma.Schema):
    idempotency_key = f.String(required=True, data_key="Idempotency-Key",
                               validate=v.Regexp(r"^[A-Za-z0-9-]{8,64}$",
                                                 error="String does not match expected pattern."),
                               metadata=_d("8–64 letters, digits or '-', made by the client per visit: a "
                                           "replay returns the first answer; another body with it is 422"))


# --- evidence ----------------------------------------------------------------------------------------------------------

EVIDENCE_TYPES = ["licence", "marketing", "financial_report", "financing"]
EVIDENCE_STATUSES = ["draft", "submitted", "returned", "verified"]


class FileUpload(Upload):
    """A file part of a multipart body (checked by content afterwards: lms/files.check_upload)."""

    default_error_messages = {"invalid": "Not a valid file."}

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        from werkzeug.datastructures import FileStorage

        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


class Month(f.Field):
    """A calendar month as ``YYYY-MM`` (a full date is taken as its month); loaded as its first day."""

    default_error_messages = {"invalid": "Not a valid date."}

    def _serialize(self, value, attr, obj, **kwargs):  # type: ignore[no-untyped-def]
        return None if value is None else value.strftime("%Y-%m")

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        import re
        from datetime import date

        m = re.fullmatch(r"([0-9]{4})-([0-9]{2})(?:-[0-9]{2})?", value) if isinstance(value, str) else None
        if m is None:
            raise self.make_error("invalid")
        try:
            if len(value) > 7:
                date.fromisoformat(value)
            return date(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise self.make_error("invalid") from None


class StoredFileSchema(Out):
    content_type = f.String(required=True, validate=v.OneOf(["application/pdf", "image/jpeg", "image/png"]))
    size = f.Integer(required=True, metadata=_d("Bytes"))
    sha256 = f.String(required=True)


class LicenceFields(Out):
    licence_type = f.String(required=True, validate=v.OneOf(["NIB", "IUMK", "SKU", "other"]))
    number = f.String(required=True)
    issued_on = f.Date(required=True)
    issuing_office = f.String(required=True)


class MarketingFields(Out):
    kind = f.String(required=True, validate=v.OneOf(["marketing_plan", "online_shop", "bazaar", "okoce_mart"]))
    description = f.String(required=True)
    link = f.String(required=True, allow_none=True)


class ReportFields(Out):
    month = f.String(required=True, metadata=_d("YYYY-MM"))
    turnover = f.Integer(required=True, metadata=_d("Whole Rupiah (omzet)"))
    cost_of_goods = f.Integer(required=True)
    operating_expenses = f.Integer(required=True)
    profit = f.Integer(required=True)
    notes = f.String(required=True)


class FinancingFields(Out):
    lender = f.String(required=True, validate=v.OneOf(["bank_dki", "bni", "other_bank", "koperasi", "other"]))
    lender_name = f.String(required=True)
    product = f.String(required=True)
    amount_requested = f.Integer(required=True)
    amount_approved = f.Integer(required=True, allow_none=True)
    application_status = f.String(required=True,
                                  validate=v.OneOf(["draft", "submitted", "approved", "rejected", "disbursed"]))
    applied_on = f.Date(required=True, allow_none=True)
    decided_on = f.Date(required=True, allow_none=True)
    disbursed_on = f.Date(required=True, allow_none=True)


class EvidenceSchema(Out):
    id = f.Integer(required=True)
    type = f.String(required=True, validate=v.OneOf(EVIDENCE_TYPES))
    status = f.String(required=True, validate=v.OneOf(EVIDENCE_STATUSES))
    stage_key = f.String(required=True, metadata=_d("The curriculum step it serves"))
    outlet = f.Nested(OutletRef, required=True)
    region = f.Nested(RegionRef, required=True)
    submitted_by = f.Nested(PersonRef, required=True, allow_none=True)
    submitted_at = f.DateTime(required=True, allow_none=True)
    reviewed_by = f.Nested(PersonRef, required=True, allow_none=True)
    reviewed_at = f.DateTime(required=True, allow_none=True)
    review_comment = f.String(required=True, allow_none=True, metadata=_d("The last decision's comment"))
    file = f.Nested(StoredFileSchema, required=True, allow_none=True)
    licence = f.Nested(LicenceFields, metadata=_d("type licence only"))
    marketing = f.Nested(MarketingFields, metadata=_d("type marketing only"))
    financial_report = f.Nested(ReportFields, metadata=_d("type financial_report only"))
    financing = f.Nested(FinancingFields, metadata=_d("type financing only"))
    created_at = f.DateTime(required=True)
    updated_at = f.DateTime(required=True)


class EvidenceHistorySchema(Out):
    decision = f.String(required=True, validate=v.OneOf(["submitted", "verified", "returned", "edited", "saved"]))
    at = f.DateTime(required=True)
    by = f.Nested(PersonRef, required=True, allow_none=True)
    comment = f.String(required=True, allow_none=True)


class EvidenceDetailSchema(EvidenceSchema):
    history = f.List(f.Nested(EvidenceHistorySchema), required=True, metadata=_d("Oldest first"))
    review_allowed = f.Boolean(required=True, metadata=_d("May the token's user verify or return it now "
                                                          "(never their own work)"))


EvidenceList = page_schema(EvidenceSchema, "EvidenceList")


class EvidenceArgs(ListArgs):
    region = f.String(validate=REGION_CODE)
    kecamatan = f.String(validate=KECAMATAN_CODE)
    cohort = f.Integer(validate=v.Range(1, 2**31 - 1), metadata=_d("Evidence of the outlets enrolled in this cohort"))
    stage = f.String(validate=v.Length(max=40), metadata=_d("A stage key"))
    status = f.String(validate=v.OneOf(EVIDENCE_STATUSES))
    type = f.String(validate=v.OneOf(EVIDENCE_TYPES))
    outlet = f.Integer(validate=v.Range(1, 2**31 - 1))


def _file(description: str, required: bool = False) -> FileUpload:
    return FileUpload(required=required, metadata=_d(description + " PDF, JPEG or PNG (checked by content), "
                                                      "at most 5 MB; images are re-encoded without metadata."))


class LicenceIn(ma.Schema):
    """A business licence (step Perizinan): NIB (13 digits), IUMK, SKU or other, with its scan."""

    licence_type = f.String(required=True, validate=v.OneOf(["NIB", "IUMK", "SKU", "other"]))
    number = f.String(required=True, validate=v.Length(max=64))
    issued_on = f.Date(required=True)
    issuing_office = f.String(required=True, validate=v.Length(max=160))
    scan = _file("The licence's scan.", required=True)


class MarketingIn(ma.Schema):
    """A marketing step (step Pemasaran)."""

    kind = f.String(required=True, validate=v.OneOf(["marketing_plan", "online_shop", "bazaar", "okoce_mart"]))
    description = f.String(required=True, validate=v.Length(max=4000))
    link = f.String(load_default=None, validate=v.Length(max=490),
                    metadata=_d("An http(s) link, e.g. tokopedia.com/ewarong (completed to https://…)"))
    attachment = _file("Optional supporting file.")


class ReportIn(ma.Schema):
    """A month's financial report (step Pelaporan keuangan), whole Rupiah."""

    month = Month(required=True, metadata={"description": "YYYY-MM", "type": "string",
                                           "pattern": "^[0-9]{4}-[0-9]{2}$"})
    turnover = f.Integer(required=True)
    cost_of_goods = f.Integer(required=True)
    operating_expenses = f.Integer(required=True)
    notes = f.String(load_default="", validate=v.Length(max=2000))
    attachment = _file("Optional photo or PDF of the buku kas.")


class FinancingIn(ma.Schema):
    """A financing application (step Permodalan); approved or disbursed ones go to review."""

    lender = f.String(required=True, validate=v.OneOf(["bank_dki", "bni", "other_bank", "koperasi", "other"]))
    lender_name = f.String(load_default="", validate=v.Length(max=160),
                           metadata=_d("Required for other_bank, koperasi and other"))
    product = f.String(required=True, validate=v.Length(max=160), metadata=_d("e.g. KUR, Kredit Monas Pemula"))
    amount_requested = f.Integer(required=True)
    amount_approved = f.Integer(load_default=None)
    application_status = f.String(required=True,
                                  validate=v.OneOf(["draft", "submitted", "approved", "rejected", "disbursed"]))
    applied_on = f.Date(load_default=None)
    decided_on = f.Date(load_default=None)
    disbursed_on = f.Date(load_default=None)
    attachment = _file("Optional proof, e.g. the approval letter.")


class ReviewIn(ma.Schema):
    decision = f.String(required=True, validate=v.OneOf(["verify", "return"]))
    comment = f.String(load_default="", validate=v.Length(max=2000),
                       metadata=_d("Required when returning: what the manager must fix"))


# --- attendance ----------------------------------------------------------------------------------------------------

ATTENDANCE = ["present", "late", "excused", "absent"]


class AttendanceSchema(Out):
    registration_id = f.Integer(required=True)
    person = f.Nested(PersonRef, required=True)
    outlet = f.Nested(OutletRef, required=True, allow_none=True)
    attendance = f.String(required=True, allow_none=True, validate=v.OneOf(ATTENDANCE),
                          metadata=_d("null: not marked yet"))
    marked_at = f.DateTime(required=True, allow_none=True)
    checked_in_by_qr = f.Boolean(required=True)
    updated_at = f.DateTime(required=True)


AttendanceList = page_schema(AttendanceSchema, "AttendanceList")


class AttendanceMarkIn(ma.Schema):
    person_id = f.Integer(required=True, validate=v.Range(1, 2**31 - 1))
    attendance = f.String(required=True, validate=v.OneOf(ATTENDANCE))


class AttendanceIn(ma.Schema):
    """Marks for registered people (others keep theirs), or everyone present."""

    marks = f.List(f.Nested(AttendanceMarkIn), load_default=list, validate=v.Length(max=1000))
    all_present = f.Boolean(load_default=False, metadata=_d("Mark every registered person present"))


class AttendanceResultSchema(Out):
    session_id = f.Integer(required=True)
    changed = f.Integer(required=True, metadata=_d("Marks that changed"))
