"""The privacy notice (UU PDP Pasal 21) made from configuration, and the sign-in gate.

The notice is data: a list of sections, each a title, paragraphs and items (an item may link to
the page where the person exercises a right). Both languages render the same sections from the
same structure; every text goes through gettext at request time. Names, contacts, periods and the
version come from the configuration (lms/config.py: PRIVACY_*, DPO_CONTACT, DATA_*, RETENTION_*).

The gate (``gate``, installed for every request by notice_views.py): a signed-in person whose
accepted version (``users.notice_version``, loaded with the user: no extra query) is not the one in
force is sent to the consent page, except on the pages listed in ``EXEMPT_ENDPOINTS`` (the
person's own privacy pages among them) and on public pages, so someone who has not accepted, or
withdrew, can still sign in and out, read the notice and exercise their rights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from ..permissions import PUBLIC
from . import consent


@dataclass
class Item:
    text: str
    #: a page where the person acts on this (None: the page does not exist in this installation)
    url: str | None = None
    link_text: str | None = None
    #: the article of the law, shown before the text ("Pasal 7")
    ref: str | None = None


@dataclass
class Section:
    #: stable id (the page's anchors, the tests): the same in every language
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    #: a closing paragraph after the items
    after: str | None = None


@dataclass
class Notice:
    version: str
    controller: str
    controller_address: str
    dpo_contact: str
    sections: list[Section]


def optional_url(endpoint: str, **values: Any) -> str | None:
    """``url_for`` for a page that may not exist in this installation (yet): None then."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def rights_links() -> dict[str, str | None]:
    """The self-service pages of the person's rights (None for one that does not exist)."""
    return {
        "notice": url_for("privacy.notice"),
        "my_data": optional_url("privacy.my_data"),
        "correction": optional_url("privacy.request_new", jenis="koreksi"),
        "erasure": optional_url("privacy.request_new", jenis="hapus"),
        "consents": optional_url("privacy.my_consents"),
    }


def build() -> Notice:
    """The whole notice in the current language, from the configuration."""
    cfg = current_app.config
    controller = str(cfg["PRIVACY_CONTROLLER"])
    address = str(cfg.get("PRIVACY_CONTROLLER_ADDRESS") or "")
    dpo = str(cfg["DPO_CONTACT"])
    hours = int(cfg.get("DATA_REQUEST_HOURS") or 72)
    links = rights_links()
    ask_dpo = _("Hubungi pejabat pelindungan data pribadi.")

    sections = [
        Section("controller", _("Siapa yang memproses data Anda"), [
            _("Pengendali data pribadi aplikasi program 7 PAS OK OCE e-Warong adalah %(controller)s.",
              controller=controller),
        ] + ([_("Alamat: %(address)s.", address=address)] if address else [])),
        Section("dpo", _("Pejabat pelindungan data pribadi"), [
            _("Untuk semua pertanyaan dan permintaan tentang data pribadi Anda (Pasal 53 UU No. 27 Tahun 2022 "
              "tentang Pelindungan Data Pribadi): %(dpo)s.", dpo=dpo),
        ]),
        Section("basis", _("Dasar pemrosesan"), [
            _("Kami memproses data Anda dengan persetujuan Anda atas pemberitahuan ini. Pesan WhatsApp hanya "
              "dikirim dengan persetujuan terpisah, yang bisa Anda berikan atau tarik kapan saja."),
        ]),
        Section("purposes", _("Untuk apa data Anda dipakai"), items=[
            Item(_("Menjalankan program 7 PAS: pendaftaran pengelola dan e-Warong, pelatihan (Bimtek), "
                   "pendampingan, perizinan usaha, pemasaran, laporan keuangan bulanan, dan permodalan.")),
            Item(_("Menerbitkan sertifikat, dan memungkinkan siapa saja memeriksa keaslian sertifikat di halaman "
                   "verifikasi publik.")),
            Item(_("Menyusun statistik program untuk Dinas Sosial (angka gabungan, tanpa nama).")),
            Item(_("Memberi tahu Anda tentang kegiatan program: di aplikasi, lewat e-mail, dan lewat WhatsApp bila "
                   "Anda setuju.")),
            Item(_("Menjaga keamanan akun Anda (catatan masuk, verifikasi dua langkah).")),
        ]),
        Section("categories", _("Data apa yang kami proses"), items=[
            Item(_("Identitas dan kontak: nama, e-mail, nomor HP, peran, wilayah.")),
            Item(_("e-Warong dan usaha: nama e-Warong dan KUBE, alamat, kelurahan, kecamatan, nomor telepon.")),
            Item(_("Izin usaha: jenis (NIB, IUMK, SKU), nomor, tanggal, dan pindaiannya.")),
            Item(_("Keuangan bulanan: omzet dan pengeluaran yang Anda laporkan.")),
            Item(_("Pengajuan permodalan: pemberi modal, produk, jumlah, dan statusnya.")),
            Item(_("Kegiatan program: kehadiran Bimtek, hasil tes, umpan balik, sertifikat, catatan dan tindak "
                   "lanjut kunjungan pendamping.")),
            Item(_("Foto dari kunjungan pendamping ke e-Warong Anda.")),
            Item(_("Catatan masuk: waktu, perangkat dan peramban, serta alamat IP (diringkas).")),
        ]),
        Section("recipients", _("Siapa yang melihat atau menerima data Anda"), items=[
            Item(_("Petugas Dinas Sosial (koordinator) wilayah Anda dan admin program.")),
            Item(_("Pendamping yang ditugaskan ke e-Warong Anda.")),
            Item(_("Bank Indonesia, BNI dan Bank DKI untuk permodalan: hanya data yang Anda serahkan sendiri dalam "
                   "pengajuan.")),
            Item(_("Publik: halaman verifikasi sertifikat hanya menampilkan nama pemegang, nomor seri, dan status "
                   "sertifikat.")),
            Item(_("Layanan pengiriman pesan (server e-mail dan WhatsApp Business) hanya untuk mengantarkan pesan "
                   "kepada Anda.")),
        ], after=_("Data Anda tidak dijual dan tidak dipakai untuk iklan.")),
        Section("retention", _("Berapa lama data disimpan"), items=[
            Item(_("Data program disimpan selama Anda mengikuti program dan selama diperlukan untuk laporan "
                   "program. Akun yang tidak dipakai masuk selama %(years)d tahun ditinjau untuk dihapus.",
                   years=int(cfg["RETENTION_INACTIVE_YEARS"]))),
            Item(_("Alamat IP dari catatan masuk diringkas menjadi sidik (hash) setelah %(days)d hari.",
                   days=int(cfg["RETENTION_IP_DAYS"]))),
            Item(_("Tautan atur kata sandi dan kode sekali pakai dihapus %(days)d hari setelah dipakai atau "
                   "kedaluwarsa.", days=int(cfg["RETENTION_CODE_DAYS"]))),
            Item(_("Berkas \"Data saya\" yang Anda unduh dihapus setelah %(days)d hari.",
                   days=int(cfg["DATA_EXPORT_DAYS"]))),
            Item(_("Nomor seri dan status sertifikat disimpan agar sertifikat tetap bisa diverifikasi; bila data Anda "
                   "dihapus atas permintaan Anda, nama pemegang diganti keterangan bahwa nama dihapus.")),
        ]),
        Section("rights", _("Hak Anda"), [
            _("Menurut UU No. 27 Tahun 2022 Pasal 5–13 Anda berhak:"),
        ], items=[
            Item(_("mendapat informasi tentang siapa memproses data Anda, untuk apa, dan bagaimana: halaman ini."),
                 ref=_("Pasal 5")),
            Item(_("melengkapi, memperbarui, dan memperbaiki data yang salah."), links["correction"],
                 _("Ajukan perbaikan"), ref=_("Pasal 6")),
            Item(_("melihat dan mendapat salinan data Anda."), links["my_data"], _("Data saya"), ref=_("Pasal 7")),
            Item(_("mengakhiri pemrosesan dan meminta data Anda dihapus."), links["erasure"],
                 _("Ajukan penghapusan"), ref=_("Pasal 8")),
            Item(_("menarik kembali persetujuan Anda."), links["consents"], _("Privasi & persetujuan"),
                 ref=_("Pasal 9")),
            Item(_("mengajukan keberatan atas keputusan yang diambil hanya secara otomatis. Di program ini tahap 7 PAS "
                   "dihitung dari bukti yang diverifikasi petugas, bukan oleh mesin saja.") + " " + ask_dpo,
                 ref=_("Pasal 10")),
            Item(_("menunda atau membatasi pemrosesan data Anda.") + " " + ask_dpo, ref=_("Pasal 11")),
            Item(_("menggugat dan menerima ganti rugi atas pelanggaran pemrosesan data Anda."), ref=_("Pasal 12")),
            Item(_("mendapat data Anda dalam bentuk yang dapat dibaca sistem elektronik (JSON) untuk dipakai di "
                   "tempat lain."), links["my_data"], _("Data saya"), ref=_("Pasal 13")),
        ], after=_("Permintaan Anda tercatat dan dijawab paling lambat %(hours)d jam (3×24 jam) bila undang-undang "
                   "menetapkan batas waktunya.", hours=hours)),
        Section("breach", _("Bila terjadi kebocoran data"), [
            _("Bila pelindungan data pribadi Anda gagal (misalnya data bocor), kami memberi tahu Anda secara tertulis "
              "paling lambat 3×24 jam (Pasal 46): data apa yang terungkap, kapan dan bagaimana, serta upaya "
              "penanganan dan pemulihannya."),
        ]),
        Section("consent", _("Persetujuan dan penarikannya"), [
            _("Saat pertama kali masuk, dan setiap kali pemberitahuan ini berubah, Anda diminta membaca dan "
              "menyetujuinya. Secara terpisah Anda memilih mau atau tidak menerima pesan WhatsApp."),
            _("Anda bisa menarik persetujuan kapan saja di halaman Privasi & persetujuan. Tanpa persetujuan atas "
              "pemberitahuan ini, program 7 PAS tidak dapat dijalankan untuk Anda, tetapi Anda tetap bisa masuk "
              "untuk melihat, mengunduh, memperbaiki, atau meminta penghapusan data Anda."),
        ]),
        Section("version", _("Versi pemberitahuan"), [
            _("Versi %(version)s. Bila isinya berubah, versinya berganti dan Anda diminta menyetujuinya lagi.",
              version=consent.current_version()),
        ]),
    ]
    return Notice(version=consent.current_version(), controller=controller, controller_address=address,
                  dpo_contact=dpo, sections=sections)


def summary() -> list[str]:
    """The notice in five sentences, for the consent page (the full notice is one link away)."""
    cfg = current_app.config
    return [
        _("Pengendali data: %(controller)s. Pejabat pelindungan data pribadi: %(dpo)s.",
          controller=cfg["PRIVACY_CONTROLLER"], dpo=cfg["DPO_CONTACT"]),
        _("Kami memproses data identitas, e-Warong, izin usaha, keuangan bulanan, permodalan, foto kunjungan, dan "
          "catatan masuk Anda untuk menjalankan program 7 PAS, menerbitkan sertifikat yang bisa diverifikasi, dan "
          "menyusun statistik Dinas Sosial."),
        _("Data Anda dilihat petugas Dinas Sosial wilayah Anda dan pendamping Anda. Bank Indonesia, BNI dan Bank "
          "DKI hanya menerima apa yang Anda ajukan sendiri untuk permodalan."),
        _("Anda berhak melihat, mengunduh, memperbaiki, dan meminta penghapusan data Anda, serta menarik persetujuan "
          "kapan saja."),
        _("Bila terjadi kebocoran data, kami memberi tahu Anda paling lambat 3×24 jam."),
    ]


# --- the gate ----------------------------------------------------------------------------------------

#: reachable without having accepted the notice in force (public pages are too): signing in and out
#: (with its code steps and a required second factor's enrolment), the language switch, the health
#: check, the notice and consent pages, and the person's own privacy pages: their decisions, "Data
#: saya" and their requests (not the reviewers' pages: handling someone else's request is programme
#: work). A new page of the person's own belongs here.
EXEMPT_ENDPOINTS = frozenset({
    "static", "ops.healthz", "ops.readyz", "ops.metrics", "core.set_language", "people.logout", "people.login",
    "people.login_phone",
    "people.login_phone_code", "people.set_password", "security.verify", "security.two_factor",
    "security.two_factor_confirm",
    # notice and consent (notice_views.py)
    "privacy.notice", "privacy.consent", "privacy.my_consents", "privacy.withdraw", "privacy.whatsapp",
    # "Data saya" (export_views.py)
    "privacy.my_data", "privacy.my_data_request", "privacy.my_data_status", "privacy.my_data_download",
    # the person's correction and erasure requests (request_views.py)
    "privacy.request_new", "privacy.my_requests", "privacy.request_detail", "privacy.request_withdraw",
})
#: rules whose pages are exempt too
EXEMPT_RULES = frozenset({PUBLIC})


def is_exempt(endpoint: str | None) -> bool:
    if endpoint is None or endpoint in EXEMPT_ENDPOINTS:
        return True  # (an unknown address stays a 404: it shows nothing)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "_lms_rule", None) in EXEMPT_RULES


def gate() -> Any:
    """Before every request: send a signed-in person who has not accepted the notice in force to the
    consent page, with where they were going (GET only: a form sent meanwhile is not replayed)."""
    if is_exempt(request.endpoint) or not current_user.is_authenticated or consent.has_accepted(current_user):
        return None
    target = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
    return redirect(url_for("privacy.consent", next=target))
