"""Locust scenario of a Bimtek morning (``tests/bench_load.py`` runs it; never imported by pytest or the app).

Run by the benchmark as its own process::

    locust -f tests/locustfile_bimtek.py --headless --host http://127.0.0.1:PORT ...

It reads the plan the benchmark wrote (``LOAD_PLAN``: accounts, sessions, the sessions' check-in
secrets, the mentors' outlets, the time scale) and writes every request's timing to ``LOAD_RESULTS``
when it stops. The people:

* trainees (one Locust user per demo manager, 253): each starts at a random moment of the arrival
  window, signs in with e-mail and password, opens home and "Kemajuan Saya", opens the session
  page, registers, "scans" the rotating QR code (the check-in URL with the current token, computed
  from the session's secret the way lms/sessions/checkin.py does), presses "Saya hadir", and
  looks at their progress once more; then they are done;
* mentors (15), each arriving at a random moment of the first minute: sign in, then log visits with one
  photo each, one after the other;
* coordinators (5, with their authenticator code, arriving like the mentors): watch the attendance
  screen of their region's sessions, refresh the dashboard now and then, and keep the QR projector
  page's image fresh;
* a probe (3 users): the trivial route, so that it is measured under the same load in the same run.

Think times are the real ones divided by the plan's ``scale``.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import random
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, constant_pacing, events, task
from locust.exception import StopUser

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())
SCALE = float(PLAN["scale"])
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TICKET_RE = re.compile(r'name="ticket" value="([^"]+)"')
WIB = timezone(timedelta(hours=7))

TRAINEES = list(PLAN["trainees"])
MENTORS = list(PLAN["mentors"])
COORDINATORS = list(PLAN["coordinators"])
random.Random(PLAN.get("seed", 7)).shuffle(TRAINEES)

#: the mentors and coordinators start their morning (sign in) within this many seconds of the run: the first
#: minute (two real minutes at the default scale), at random moments like the trainees. (All 20 used to sign in
#: within the first 10 s: 20 password hashes at once on two cores, a burst no real morning makes, in which every
#: mentor also opened the visit form, its first request after signing in: half of that page's samples.)
STAFF_ARRIVAL_S = 60.0


def _staff_arrives() -> None:
    gevent.sleep(random.uniform(0, min(STAFF_ARRIVAL_S, float(PLAN["arrival_window_s"]))))

#: every request: (name, method, milliseconds, ok, status, seconds since the start)
RECORDS: list[tuple[str, str, float, bool, int, float]] = []
STARTED = time.time()
#: trainees whose morning is over (done or stopped by an error); when all are, the run ends
DONE = {"trainees": 0, "completed": 0}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None,  # type: ignore[no-untyped-def]
            **_kw):
    status = getattr(response, "status_code", 0) or 0
    RECORDS.append((name, request_type, float(response_time), exception is None, int(status),
                    time.time() - STARTED))


@events.quitting.add_listener
def _write(environment, **_kw):  # type: ignore[no-untyped-def]
    with open(os.environ["LOAD_RESULTS"], "w", encoding="utf-8") as f:
        json.dump({"records": RECORDS, "started": STARTED, "trainees_done": DONE["trainees"],
                   "journeys_completed": DONE["completed"]}, f)


def _trainee_done(environment, completed: bool) -> None:  # type: ignore[no-untyped-def]
    """Count a finished morning; the last one ends the run a few seconds later (the others keep working
    until then)."""
    DONE["trainees"] += 1
    DONE["completed"] += int(completed)
    if DONE["trainees"] == Trainee.fixed_count and environment.runner is not None:
        gevent.spawn_later(3, environment.runner.quit)


def think(low: float, high: float) -> None:
    """A person's pause (real seconds), compressed by the plan's scale."""
    gevent.sleep(random.uniform(low, high) / SCALE)


def checkin_token(session_id: int, secret: str, at: float | None = None) -> str:
    """As lms.sessions.checkin.checkin_token: HMAC-SHA256 of "id:step" under the session's secret."""
    step = int(at if at is not None else time.time()) // int(PLAN["checkin_step"])
    mac = hmac.new(secret.encode(), f"{session_id}:{step}".encode(), hashlib.sha256)
    return mac.hexdigest()[:int(PLAN["checkin_token_length"])]


def _photo() -> bytes:
    """A phone photo as a mentor's app uploads it: 1280 x 960 JPEG with some texture."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1280, 960), (200, 190, 170))
    draw = ImageDraw.Draw(img)
    rng = random.Random(5)
    for _ in range(400):
        x, y = rng.randrange(1280), rng.randrange(960)
        draw.rectangle((x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)),
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=82)
    return out.getvalue()


PHOTO = _photo()


class Person(HttpUser):
    abstract = True

    def csrf(self, html: str) -> str:
        m = CSRF_RE.search(html)
        if not m:
            raise RuntimeError("no CSRF token on the page")
        return m.group(1)

    def page(self, path: str, name: str, expect: int = 200, contains: str | None = None) -> str:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as resp:
            if resp.status_code != expect:
                resp.failure(f"HTTP {resp.status_code} (expected {expect}) at {path}")
                return ""
            if contains and contains not in resp.text:
                resp.failure(f"{contains!r} missing at {path}")
                return ""
            return resp.text

    def post(self, path: str, name: str, data: dict, expect: int = 302, contains: str | None = None,
             files: dict | None = None) -> str:
        with self.client.post(path, data=data, files=files, name=name, allow_redirects=False,
                              catch_response=True) as resp:
            if resp.status_code != expect:
                resp.failure(f"HTTP {resp.status_code} (expected {expect}) at {path}")
                return ""
            if contains and contains not in (resp.headers.get("Location", "") if expect == 302 else resp.text):
                resp.failure(f"{contains!r} missing in the answer to {path}")
                return ""
            return resp.headers.get("Location", "") if expect == 302 else resp.text

    def sign_in(self, email: str, password: str, totp: str | None = None) -> bool:
        html = self.page("/login", "GET /login (sign-in page)")
        if not html:
            return False
        data = {"csrf_token": self.csrf(html), "email": email, "password": password}
        where = self.post("/login", "POST /login (password)", data)
        if where.endswith("/login/code"):
            import pyotp

            html = self.page("/login/code", "GET /login/code (authenticator step)")
            if not html or totp is None:
                return False
            where = self.post("/login/code", "POST /login/code (authenticator)",
                              {"csrf_token": self.csrf(html), "code": pyotp.TOTP(totp).now()})
        return bool(where) and "/login" not in where and "/privasi" not in where


class Trainee(Person):
    """A manager on the morning of the Bimtek: sign in, progress, register, check in."""

    fixed_count = len(TRAINEES)
    wait_time = between(1, 2)

    def on_start(self) -> None:
        self.me = TRAINEES.pop()
        gevent.sleep(random.uniform(0, float(PLAN["arrival_window_s"])))

    @task
    def morning(self) -> None:
        completed = False
        try:
            completed = self._morning()
        finally:
            _trainee_done(self.environment, completed)
        raise StopUser()

    def _morning(self) -> bool:
        """The journey; False when a step failed (the failure is recorded with its request)."""
        me = self.me
        sid = int(me["session_id"])
        if not self.sign_in(me["email"], PLAN["password"]):
            return False
        think(5, 10)
        self.page("/home", "GET /home")
        think(5, 15)
        self.page("/progress", "GET /progress (Kemajuan Saya)")
        think(10, 20)
        html = self.page(f"/sessions/{sid}", "GET /sessions/<id> (session page)")
        if not html:
            return False
        think(5, 15)
        if not self.post(f"/sessions/{sid}/register", "POST /sessions/<id>/register",
                         {"csrf_token": self.csrf(html), "submit": "1"}, contains=f"/sessions/{sid}"):
            return False
        self.page(f"/sessions/{sid}", "GET /sessions/<id> (session page)", contains="Pendaftaran Anda")
        think(20, 40)  # walks to the room, the QR code is on the screen
        token = checkin_token(sid, PLAN["secrets"][str(sid)])
        html = self.page(f"/checkin/{sid}/{token}", "GET /checkin/<id>/<token> (scanned QR)")
        if not html:
            return False
        m = TICKET_RE.search(html)
        think(3, 8)
        if not self.post(f"/checkin/{sid}/{token}", "POST /checkin/<id>/<token> (Saya hadir)",
                         {"csrf_token": self.csrf(html), "ticket": m.group(1) if m else ""}, expect=200,
                         contains="checkin-done"):
            return False
        think(10, 20)
        return bool(self.page("/progress", "GET /progress (Kemajuan Saya)"))


class Mentor(Person):
    """A pendamping logging field visits with a photo."""

    fixed_count = len(MENTORS)
    wait_time = between(180 / SCALE, 360 / SCALE)  # between two visits: travelling to the next outlet

    def on_start(self) -> None:
        self.me = MENTORS.pop()
        _staff_arrives()
        self.ok = self.sign_in(self.me["email"], PLAN["password"])

    @task
    def log_visit(self) -> None:
        if not self.ok:
            raise StopUser()
        outlet = random.choice(self.me["outlets"])
        html = self.page(f"/visits/new?outlet={outlet}", "GET /visits/new (visit form)")
        if not html:
            return
        think(60, 180)  # writes the visit up
        now = datetime.now(WIB) - timedelta(minutes=random.randint(5, 60))
        data = {"csrf_token": self.csrf(html), "client_key": uuid.uuid4().hex, "outlet_id": str(outlet),
                "visited_at": now.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": "45", "kind": "field_visit", "stages": "pendampingan",
                "observations": "Buku kas sudah diisi rutin; stok beras cukup untuk dua minggu. Pengelola ikut "
                                "Bimtek pagi ini.",
                "action_items-0-description": "Foto nota belanja dimasukkan ke buku kas",
                "action_items-0-owner": "Pengelola", "action_items-0-due_on": (now + timedelta(days=7)).date().isoformat(),
                "action_items-1-description": "", "action_items-1-owner": ""}
        files = {"photos": ("warung.jpg", PHOTO, "image/jpeg")}
        where = self.post("/visits/new", "POST /visits/new (visit with photo)", data, files=files,
                          contains="/visits/")
        if where:
            self.page(urlsplit(where).path, "GET /visits/<id> (visit page)")


class Coordinator(Person):
    """A koordinator on the morning: the attendance screen, now and then the dashboard and the QR image."""

    fixed_count = len(COORDINATORS)
    wait_time = between(10 / SCALE, 20 / SCALE)

    def on_start(self) -> None:
        self.me = COORDINATORS.pop()
        _staff_arrives()
        self.ok = self.sign_in(self.me["email"], PLAN["password"], totp=PLAN["totp"])
        self.turn = 0

    @task
    def watch(self) -> None:
        if not self.ok:
            raise StopUser()
        sessions = self.me["sessions"]
        sid = sessions[self.turn % len(sessions)]
        self.turn += 1
        self.page(f"/sessions/{sid}/attendance", "GET /sessions/<id>/attendance (40-person screen)",
                  contains="<h1>Presensi</h1>")
        self.page(f"/sessions/{sid}/qr.svg", "GET /sessions/<id>/qr.svg (projector)")
        if self.turn % 3 == 1:
            self.page("/dashboard", "GET /dashboard")


class Probe(HttpUser):
    """The trivial route, under the same load (no sign-in)."""

    fixed_count = int(PLAN.get("probes", 3))
    wait_time = constant_pacing(0.5)

    @task
    def trivial(self) -> None:
        with self.client.get(PLAN["trivial"], name=f"GET {PLAN['trivial']} (trivial route)", catch_response=True,
                             allow_redirects=False) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
