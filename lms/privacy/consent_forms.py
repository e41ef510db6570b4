"""Forms of the notice and consent pages: field shapes only (the rules live in consent.py)."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField, SubmitField
from wtforms.validators import AnyOf, DataRequired, ValidationError

from ..forms_common import Form, options


class ConsentForm(Form):
    """The consent page: the notice (a required box) and, separately, WhatsApp (an active yes)."""

    agree = BooleanField(_l("Saya telah membaca dan menyetujui pemberitahuan privasi program 7 PAS"))
    whatsapp = RadioField(_l("Pesan WhatsApp"), choices=options([
        ("no", _l("Tidak, jangan kirim pesan WhatsApp")),
        ("yes", _l("Ya, saya mau menerima pesan WhatsApp tentang program")),
    ]), default="no")
    next = HiddenField()
    accept = SubmitField(_l("Setuju dan lanjutkan"))
    decline = SubmitField(_l("Saya tidak setuju"))

    def validate_agree(self, field: Any) -> None:
        if not self.decline.data and not field.data:
            raise ValidationError(str(_l("Centang kotak ini untuk menyetujui pemberitahuan, atau pilih "
                                         "\"Saya tidak setuju\".")))


class EmptyForm(Form):
    """A CSRF-protected button (withdrawing goes through the confirm page)."""


class WhatsAppForm(Form):
    """Opting in to WhatsApp again from the privacy page: an explicit yes."""

    opt_in = HiddenField(validators=[DataRequired(), AnyOf(["1"])])
