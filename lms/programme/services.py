"""The 7 PAS journey: curricula, cohorts, enrolments, evidence, review and progress.

Progress is computed here and only here (``progress_for``/``refresh_progress``); every
change that can move it calls ``refresh_*`` inside the same transaction, so the summary
kept on the enrolment never disagrees with a full recomputation.

The functions live in modules named after their idea (summary, cohorts, evidence, review);
this module gathers their public names so callers keep one import.
"""
from __future__ import annotations

from .summary import (  # noqa: F401
    curricula, curriculum_for, curriculum_for_outlet, default_curriculum, progress_for, refresh_for_outlets,
    refresh_for_users, refresh_progress,
)
from .cohorts import (  # noqa: F401
    CohortInput, cohorts_for, create_cohort, current_enrolment, end_outlet_enrolments, enrol_all,
    enrol_new_manager, enrol_outlet, enrolment_list, new_enrolment, outlet_enrolment, stage_counts,
    update_cohort,
)
from .evidence import (  # noqa: F401
    AMOUNT_MAX, EARLIEST, EVIDENCE_CLASSES, FinancingInput, LicenceInput, MarketingInput, NIB_DIGITS,
    Problems, ReportInput, check_financing, check_licence, check_marketing, check_report, complete_link,
    default_report_month, report_for_month, returned_evidence, save_financing, save_licence, save_marketing,
    save_report, this_month,
)
from .review import (  # noqa: F401
    evidence_history, outlet_evidence, review, review_queue, reviewable_types,
)
