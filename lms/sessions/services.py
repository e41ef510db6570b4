"""Training sessions (Bimtek): scheduling with clash checks, registration with a waitlist that
never overbooks, attendance, QR self check-in and RFC 5545 calendars.

Every function takes the acting user explicitly and writes inside one ``transaction()``.
Times are stored in UTC and entered and shown in WIB (Asia/Jakarta).

No overbooking, on SQLite and PostgreSQL alike: a seat is taken only by the conditional
``UPDATE training_sessions SET seats_taken = seats_taken + 1 WHERE id = :id AND seats_taken <
capacity AND status = 'scheduled'`` (one row changed: registered; none: waitlisted) and given back
only by ``… seats_taken - 1 WHERE … seats_taken > 0``. The database's row lock serialises
concurrent seat changes of one session, the check constraint ``seats_taken <= capacity`` guards
the rest, and the unique (session_id, user_id) constraint turns a double submit into one row.

The functions live in modules named after their idea (common, seats, scheduling,
registration, listing, attendance, checkin, calendars, home); this module gathers them so
callers keep one name: ``from lms.sessions import services``.
"""
from __future__ import annotations

from .common import (  # noqa: F401
    ACTIVE, AGENCY_LABELS, ATTENDED, CANCELLED_NOTICE, CHECKIN_MARGIN, CHECKIN_STEP, CHECKIN_TICKET_SECONDS,
    CHECKIN_TOKEN_LENGTH, DEFAULT_CERTIFICATE, EARLIEST_SESSION_DATE, FEED_HISTORY, GROUP_COHORT,
    GROUP_SCOPES, GROUP_STEP, MAX_CAPACITY, MAX_DURATION, MAX_SERIES_DATES, MAX_SPEAKERS, SESSION_YEARS_AHEAD,
    as_utc, certificate_designs, certificate_label, certificate_options, default_certificate_kind,
    design_allows, fold, latest_session_date, speaker_label, stage_label, stages_text, when_text,
    wib_day_start, wib_minute,
)
from .scheduling import (  # noqa: F401
    NOT_IN_CALENDAR, SessionInput, SpeakerInput, cancel_session, create_sessions, update_session,
)
from .registration import (  # noqa: F401
    GroupOption, GroupResult, MyPlace, Roster, filter_registrations, group_candidates, group_options,
    group_registration_open, group_size, place_of, places_of, register, register_group, registration_open,
    roster, unregister, waitlist_counts,
)
from .listing import (  # noqa: F401
    Day, PAST, UPCOMING, month_bounds, month_grid, month_sessions, schedule, schedule_counts, session_detail,
)
from .attendance import (  # noqa: F401
    attendance_opens, save_attendance,
)
from .checkin import (  # noqa: F401
    CheckinRefused, base_url, check_in, checkin_problem, checkin_step, checkin_ticket, checkin_token,
    checkin_url, checkin_window, in_checkin_window, qr_svg, token_valid,
)
from .calendars import (  # noqa: F401
    create_feed, feed_hash, feed_of, feed_owner, feed_sessions, feed_url, ics, revoke_feed, session_url,
)
from .home import (  # noqa: F401
    trainee_home,
)
