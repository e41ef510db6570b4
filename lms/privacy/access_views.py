"""Who looked at whom: the admin's list of the accesses to one person's data (lms/privacy/access.py).
Thin: find the person, read one page, render."""
from __future__ import annotations

import math

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from ..forms_common import int_or_none
from ..permissions import rule
from . import access
from .blueprint import bp


class PersonSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    user = StringField(_l("Pengguna (nomor ID atau e-mail)"))


@bp.route("/admin/privasi/akses")
@rule("privacy.admin")
def access_log():
    form = PersonSearchForm(request.args)
    person = access.find_person(form.user.data)
    page = max(1, int_or_none(request.args.get("page")) or 1)
    per_page = int(current_app.config.get("PAGE_SIZE", 25))
    rows, total = access.accesses_to(person.id, page=page, per_page=per_page) if person is not None else ([], 0)
    searched = bool((form.user.data or "").strip())
    return render_template("privacy/access_log.html", form=form, person=person, rows=rows, total=total, page=page,
                           pages=max(1, math.ceil(total / per_page)), searched=searched,
                           action_labels=access.action_labels(), what_label=access.what_label)
