"""Mentor caseloads, field visits (pendampingan), their action items, the outlet timeline,
the coordinator's overview and the CSV export.

Every function takes the acting user explicitly and writes inside one ``transaction()``.
Lists are read in a fixed number of queries whatever the caseload or region size.
Times are stored in UTC; "days" and "months" are WIB calendar days and months.

The functions live in modules named after their idea (status, caseloads, recording, reading,
timeline, overview, csv_export); this module gathers their public names so callers keep one import.
"""
from __future__ import annotations

from .status import (  # noqa: F401
    CLIENT_KEY_RE, EARLIEST_VISIT, FUTURE_TOLERANCE, MAX_ACTION_ITEMS, MAX_DURATION_MINUTES, MAX_PHOTOS,
    OutletStatus, PHOTO_TYPES, PLAN_DAYS, SANE_YEARS, caseload, caseload_outlets, days_since_wib, is_overdue,
    months_back, outlet_statuses, overdue_days_for, wib_start_utc, wib_today,
)
from .caseloads import (  # noqa: F401
    MAX_ASSIGN,
    assign_mentor, assignable_outlets, mentors_for,
)
from .recording import (  # noqa: F401
    ActionInput, MANAGER_OWNERS, VisitInput, find_by_client_key, full_snapshot, is_manager_task, location_of,
    log_visit, manager_action_items, normalise_client_key, set_action_done, update_visit,
)
from .reading import (  # noqa: F401
    action_item, outlet_for_view, photo, stage_choices, stage_names, visit_for_view,
)
from .timeline import (  # noqa: F401
    TimelineEntry, current_assignment, outlet_timeline,
)
from .overview import (  # noqa: F401
    MentorMonths, Overview, PAST_DUE_LIMIT, overview,
)
from .csv_export import (  # noqa: F401
    EXPORT_BATCH, export_header, export_visits, kind_labels,
)
from .seed import seed_visits  # noqa: F401  (kept in its own module, exported here)
