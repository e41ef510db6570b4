"""The attendance screen writes its radio buttons itself (not through forty WTForms radio groups): each
person's stored mark is the checked one, every button has its label, and the language follows."""
from __future__ import annotations

import re
from datetime import timedelta


def _screen(factory, marks):  # type: ignore[no-untyped-def]
    cohort = factory.cohort(regions=("3171",))
    s = factory.training_session(cohort, starts_in=timedelta(minutes=-30), hours=6, capacity=10,
                                 speakers=(("Narasumber", "pgo_okoce"),))
    regs = []
    for i, mark in enumerate(marks):
        t = factory.user("trainee", region="3171", full_name=f"Peserta {i}")
        regs.append(factory.seat(s, t, attendance=mark))
    return s, regs


def test_each_persons_mark_is_the_checked_button(client, factory, login_as):
    s, regs = _screen(factory, ["present", "late", None, "absent", "excused"])
    login_as("coordinator", region="3171")
    html = client.get(f"/sessions/{s.id}/attendance").get_data(as_text=True)
    values = ["present", "late", "excused", "absent"]
    for reg, mark in zip(regs, ["present", "late", None, "absent", "excused"]):
        buttons = re.findall(rf'<input aria-describedby="p{reg.id}"( checked)? id="r{reg.id}-(\d)" name="r{reg.id}" '
                             r'type="radio" value="(\w+)">', html)
        assert [(int(n), v) for _c, n, v in buttons] == list(enumerate(values))
        assert [v for c, _n, v in buttons if c] == ([mark] if mark else [])
    # each button sits in its label, with the person's name as its description
    assert f'<label class="att-choice att-late"><input aria-describedby="p{regs[0].id}"' in html
    assert f'<th scope="row" id="p{regs[0].id}">Peserta 0<br>' in html
    assert html.count("<span>Hadir</span>") == len(regs) and html.count("<span>Tidak hadir</span>") == len(regs)


def test_the_buttons_speak_english_when_asked(client, factory, login_as):
    s, _regs = _screen(factory, ["present"])
    login_as("coordinator", region="3171")
    from lms.i18n import LANG_COOKIE

    client.set_cookie(LANG_COOKIE, "en")  # what the language switch sets
    html = client.get(f"/sessions/{s.id}/attendance").get_data(as_text=True)
    assert "<span>Present</span>" in html and "<span>Hadir</span>" not in html


def test_saving_from_the_screen_still_records_the_marks(client, factory, login_as, db):
    from lms.sessions.models import Attendance, Registration

    s, regs = _screen(factory, [None, None])
    login_as("coordinator", region="3171")
    resp = client.form_post(f"/sessions/{s.id}/attendance", {f"r{regs[0].id}": "late", f"r{regs[1].id}": "present",
                                                               "save": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, regs[0].id).attendance is Attendance.LATE
    html = client.get(f"/sessions/{s.id}/attendance").get_data(as_text=True)
    assert re.search(rf'<input aria-describedby="p{regs[0].id}" checked id="r{regs[0].id}-1"', html)
