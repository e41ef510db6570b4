"""The shape of the national benchmark data (lms/benchdata.py): how many of what, in which
proportions, where, with which names, and the small random helpers that draw them.

Change a share here and the generator writes differently: raise ``GENERATOR_VERSION`` in
lms/benchdata.py so that cached bench databases are rebuilt.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time as dtime, timedelta, timezone

from .i18n import WIB

#: outlets per mentor (about)
OUTLETS_PER_MENTOR = 60
#: managers per training session (about)
MANAGERS_PER_SESSION = 40
#: share of outlets with an open mentor assignment (the others' mentor has moved on)
ASSIGNED_SHARE = 0.9
#: share of incomplete enrolments without progress for more than 60 days ("stuck")
STUCK_SHARE = 0.15
STUCK_DAYS = 60
#: share of visits that agree action items, and of those items that are done
ACTION_SHARE = 0.6
DONE_SHARE = 0.9
#: share of completed enrolments with a completion certificate, and of those revoked
CERTIFIED_SHARE = 0.25
REVOKED_SHARE = 0.03

#: relative number of outlets per region (the 2018 run's spread; Kepulauan Seribu has a few)
REGION_WEIGHT = {"3171": 40, "3172": 45, "3173": 55, "3174": 50, "3175": 63, "3101": 2}
#: how many enrolments of each cohort have completed 0…7 steps (weights): the older cohort is
#: further along; a funnel narrowing at the evidence steps
COMPLETED_WEIGHTS = {
    0: (2, 4, 7, 12, 16, 15, 14, 30),
    1: (6, 16, 20, 20, 14, 10, 7, 7),
}
#: the share of managers in the first (older) cohort
FIRST_COHORT_SHARE = 0.55
#: attendance of the managers who completed the training step, and of those who did not
ATTENDED = (("present", 0.88), ("late", 0.12))
NOT_ATTENDED = (("excused", 0.45), ("absent", 0.55))
#: visit kinds and their share
VISIT_KINDS = (("field_visit", 0.75), ("phone_call", 0.15), ("group_meeting", 0.10))

VENUES = {
    "3171": ("Aula Kantor Walikota Jakarta Pusat", "Jl. Tanah Abang I No. 1, Gambir, Jakarta Pusat"),
    "3172": ("Aula Kantor Walikota Jakarta Utara", "Jl. Laksda Yos Sudarso No. 27–29, Tanjung Priok, Jakarta Utara"),
    "3173": ("Aula Kantor Walikota Jakarta Barat", "Jl. Raya Kembangan No. 2, Kembangan, Jakarta Barat"),
    "3174": ("Aula Kantor Walikota Jakarta Selatan", "Jl. Prapanca Raya No. 9, Kebayoran Baru, Jakarta Selatan"),
    "3175": ("Aula Kantor Walikota Jakarta Timur", "Jl. Dr. Sumarno No. 1, Penggilingan, Cakung, Jakarta Timur"),
    "3101": ("Aula Kantor Bupati Kepulauan Seribu", "Pulau Pramuka, Kepulauan Seribu Utara"),
}
SPEAKERS = (("Dra. Sri Wahyuni, M.Si.", "dinas_sosial"), ("Rudi Hartono", "bank_indonesia"),
            ("Yusuf Maulana", "bni"), ("Indra Permana", "pgo_okoce"))
MOBILE = ("812", "813", "821", "852", "857", "878", "896")
REVOCATION_REASON = "Data pengelola tidak sesuai; sertifikat ditarik untuk diperbaiki."


# --- small helpers ---------------------------------------------------------------------------

def _split(n: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Share ``n`` over ``weights`` (largest remainder); each gets ``minimum`` first when n allows."""
    k = len(weights)
    base = minimum if n >= minimum * k else 0
    rest = n - base * k
    total = sum(weights) or 1.0
    exact = [rest * w / total for w in weights]
    out = [int(x) for x in exact]
    order = sorted(range(k), key=lambda i: (out[i] - exact[i], i))
    for i in order[: rest - sum(out)]:
        out[i] += 1
    return [base + x for x in out]


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for value, share in table:
        roll -= share
        if roll < 0:
            return value
    return table[-1][0]


def _wib_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, dtime(hour, minute), tzinfo=WIB).astimezone(timezone.utc)


_SEVEN_HOURS = timedelta(hours=7)


def _wib_day(at: datetime) -> date:
    """The WIB calendar day of an aware UTC datetime (WIB is UTC+7 all year)."""
    return (at + _SEVEN_HOURS).date()


KUBE_NAMES = ("Melati", "Mawar", "Anggrek", "Kenanga", "Cempaka", "Dahlia", "Flamboyan", "Teratai", "Seroja",
              "Kamboja", "Asoka", "Kemuning", "Nusa Indah", "Srikandi", "Berkah Bersama", "Maju Jaya", "Sejahtera",
              "Harapan Baru", "Mandiri", "Sumber Rezeki", "Barokah", "Amanah", "Makmur", "Bina Usaha", "Sehati",
              "Gotong Royong", "Mitra Usaha", "Cahaya Ibu", "Pelangi", "Mutiara", "Permata", "Swadaya", "Sentosa")
STREETS = ("Masjid", "Mushola", "Swadaya", "Persatuan", "Gotong Royong", "Kemuning", "Kenanga", "Flamboyan",
           "Manggis", "Delima", "Sawo", "Rambutan", "Madrasah", "Pembangunan", "Bakti", "Kramat", "Pintu Air",
           "Kali Baru", "Setia Kawan", "Kebon Pala", "Balai Rakyat", "Pendidikan", "Kesehatan", "Inpres", "Waru")
