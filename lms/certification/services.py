"""Certificates: eligibility, issuing, revoking, correcting, bulk runs, storage and verification.

Every function takes the acting user explicitly and writes in one transaction. Which kinds
of certificate exist and who is eligible comes from the designs (certificates/*/metadata.yaml,
see designs.py); the code knows only the two subjects (a session, an enrolment).

Numbers: a serial is ``<PREFIX>/<year>/<number>``, the number taken from a counter row per
(kind, year) with an atomic ``UPDATE … RETURNING`` inside the issuing transaction, so two
coordinators issuing at the same moment never get the same number (and a rolled-back issue
leaves no gap). A partial unique index allows one active certificate per kind, holder and
subject; issuing again returns the certificate that exists.

The functions live in modules named after their idea (eligibility, issuing, pdf, lists, bulk);
this module gathers their public names (and the few helpers the seed and the benchmark use)
so callers keep one import.
"""
from __future__ import annotations

from .eligibility import (  # noqa: F401
    ATTENDANCE_LABELS, CERT_LOCALE, CODE_RE, Candidate, NBSP, cohort_candidates, design_for, designs,
    designs_for, enrolment_reason, session_candidates, session_problem, session_reason,
)
from .issuing import (  # noqa: F401
    IssueResult, _create, _session_facts, attendee, correct_name, date_range, format_serial,
    issue_for_enrolment, issue_for_session, new_verification_code, next_number, revoke, verify_url,
)
from .pdf import (  # noqa: F401
    ensure_pdf, open_pdf, pdf_exists, render_context, store_pdf,
)
from .pdf import subject_dates  # noqa: F401  (the dates as printed, without the rest of the render context)
from .lists import (  # noqa: F401
    Overview, certificate_detail, certificate_list, find_by_code, my_certificates, overview,
)
from .bulk import (  # noqa: F401
    _start_job, job_items, job_progress, job_zip, retry_job, start_cohort_job, start_session_job,
)
