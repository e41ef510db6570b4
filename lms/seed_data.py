"""Deterministic demo data for the 2018 e-Warong 7 PAS programme of DKI Jakarta.

Pure data generators (standard library only): the same seed always gives the same people
and outlets, so seeding the demo twice changes nothing. Run this module to print the
spread of outlets over regions and kecamatan as a self-check.
"""
from __future__ import annotations

import random
import re

from lms.places.reference import KECAMATAN, KELURAHAN, REGIONS

# --- names ----------------------------------------------------------------------------------

#: given names of women (Betawi, Javanese, Sundanese, Minang, Batak, Malay, Islamic)
FIRST_NAMES_F: tuple[str, ...] = (
    "Siti", "Sri", "Nur", "Dewi", "Rina", "Yanti", "Fitri", "Ratna", "Ani", "Lina", "Ida", "Yuli",
    "Ernawati", "Suryani", "Aisyah", "Fatimah", "Khadijah", "Maryam", "Nurhayati", "Kartini", "Sumiati",
    "Mulyani", "Endang", "Tuti", "Titin", "Neneng", "Euis", "Imas", "Cucu", "Iis", "Yeni", "Mega",
    "Wulan", "Indah", "Ayu", "Nining", "Atikah", "Rohani", "Umi", "Rukiah", "Juleha", "Saodah",
    "Masitoh", "Zubaedah", "Nurlela", "Marlina", "Rosmawati", "Herlina", "Tiurma", "Sondang",
    "Lasmaria", "Rugun", "Yusnimar", "Nurbaiti", "Syafrida", "Rosmaniar", "Erni", "Eti", "Popon",
    "Nani", "Tati", "Rohayati", "Mursidah", "Hj. Romlah", "Hj. Maemunah", "Nur'aini", "Ma'rifah",
    "Sulastri", "Partini", "Wagiyem", "Suharti", "Kusmiati", "Warsini",
)

#: given names of men
FIRST_NAMES_M: tuple[str, ...] = (
    "Ahmad", "Muhammad", "Budi", "Agus", "Bambang", "Joko", "Slamet", "Eko", "Dedi", "Asep", "Ujang",
    "Cecep", "Dadang", "Yayat", "Iwan", "Hendra", "Rudi", "Andi", "Rizki", "Fajar", "Arif", "Heru",
    "Sutrisno", "Wahyu", "Yusuf", "Ismail", "Abdul", "Rahmat", "Hasan", "Usman", "Syamsul", "Zulkifli",
    "Firdaus", "Erwin", "Darwis", "Rusli", "Marulitua", "Parlindungan", "Togar", "Hotman", "Bonar",
    "Sahat", "H. Mansur", "H. Sanusi", "Ma'ruf", "Syafi'i", "Sarmili", "Jaelani",
    "Maman", "Nanang", "Sugeng", "Teguh", "Purnomo",
)

#: Batak marga and Minang suku, used as a family name by women and men alike
MARGA: tuple[str, ...] = (
    "Siregar", "Nasution", "Lubis", "Harahap", "Hasibuan", "Simanjuntak", "Sitompul", "Sinaga",
    "Situmorang", "Pardede", "Tambunan", "Panjaitan", "Manurung", "Sihombing", "Hutapea", "Ginting",
    "Tarigan", "Sembiring", "Chaniago", "Piliang", "Koto", "Tanjung", "Sikumbang",
)

#: second names and family names (men; women take MARGA or SECOND_NAMES_F)
LAST_NAMES: tuple[str, ...] = (
    "Hidayat", "Setiawan", "Kurniawan", "Saputra", "Nugroho", "Prasetyo", "Wibowo", "Santoso", "Gunawan",
    "Firmansyah", "Hakim", "Rahman", "Syahputra", "Pratama", "Ramadhan", "Maulana", "Hermawan",
    "Sudrajat", "Permana", "Suryadi", "Wijaya", "Kusnadi", "Suryana", "Hidayatullah", "Sobari",
    "Ridwan", "Junaedi", "Mulyadi", "Supriyadi", "Haryanto", "Susanto", "Wahyudi", "Ma'mun",
    "Saefullah", "Nurdin", "Effendi", "Syarifuddin", "Hamzah",
) + MARGA

#: second names of women (Javanese, Sundanese, Betawi, Islamic)
SECOND_NAMES_F: tuple[str, ...] = (
    "Rahmawati", "Lestari", "Wulandari", "Handayani", "Susanti", "Puspitasari", "Utami", "Rahayu",
    "Kurniasih", "Fitriani", "Hasanah", "Aminah", "Maryati", "Nuraini", "Yuliani", "Anggraini",
    "Permatasari", "Haryati", "Setyowati", "Purwanti", "Sumarni", "Ningsih", "Maesaroh", "Jubaedah",
    "Komariah", "Nurjanah", "Rohimah", "Herawati", "Safitri", "Widiastuti", "Kusumawati", "Indriani",
    "Novitasari", "Agustina", "Pratiwi", "Damayanti", "Juwita", "Mardiyah", "Sholihah", "Khoiriyah",
)

_NAME_OK = re.compile(r"[A-Za-z' .]+")

# --- outlets --------------------------------------------------------------------------------

#: the five cities of the programme (Kepulauan Seribu has no e-Warong in the demo)
_CITIES: tuple[str, ...] = ("3171", "3172", "3173", "3174", "3175")
_CITY_SLUG: dict[str, str] = {"3171": "pusat", "3172": "utara", "3173": "barat", "3174": "selatan", "3175": "timur"}
#: outlets per city in the 2018 run (253 in all); other totals are shared in proportion
_CITY_WEIGHT: dict[str, int] = {"3171": 40, "3172": 45, "3173": 55, "3174": 50, "3175": 63}

_KUBE_NAMES: tuple[str, ...] = (
    "Melati", "Mawar", "Anggrek", "Kenanga", "Cempaka", "Dahlia", "Flamboyan", "Teratai", "Seroja",
    "Kamboja", "Bougenville", "Asoka", "Sedap Malam", "Kemuning", "Nusa Indah", "Srikandi", "Kartini",
    "Berkah Bersama", "Maju Jaya", "Sejahtera", "Harapan Baru", "Mandiri", "Sumber Rezeki", "Barokah",
    "Amanah", "Makmur", "Bina Usaha", "Karya Mandiri", "Sinar Harapan", "Mekar Sari", "Tunas Harapan",
    "Rukun Warga", "Sehati", "Gotong Royong", "Mitra Usaha", "Cahaya Ibu", "Berkah Ibu", "Pelangi",
    "Sakinah", "Al Ikhlas", "Mutiara", "Permata", "Bunga Bangsa", "Swadaya", "Sentosa", "Bahagia",
)

_STREETS: tuple[str, ...] = (
    "Masjid", "Mushola", "Swadaya", "Persatuan", "Gotong Royong", "Kemuning", "Kenanga", "Flamboyan",
    "Manggis", "Delima", "Sawo", "Rambutan", "Madrasah", "Pembangunan", "Bakti", "H. Saidi", "H. Naman",
    "H. Jian", "Haji Ung", "Kramat", "Pintu Air", "Kali Baru", "Setia Kawan", "Kebon Pala", "Balai Rakyat",
    "Pendidikan", "Kesehatan", "Raya Bogor", "Inpres", "Tanah Merdeka", "Swasembada", "Waru",
)
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")

_MOBILE_PREFIXES = ("0812", "0813", "0821", "0852", "0857", "0878", "0896")


def _split(n: int, weights: dict[str, int], minimum: dict[str, int]) -> dict[str, int]:
    """Share n over the keys of weights in proportion (largest remainder), then honour minimum."""
    total = sum(weights.values())
    exact = {k: n * w / total for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(weights, key=lambda k: (out[k] - exact[k], k))[: n - sum(out.values())]:
        out[k] += 1
    if n >= sum(minimum.values()):
        while True:
            short = [k for k in weights if out[k] < minimum[k]]
            if not short:
                break
            rich = max(weights, key=lambda k: (out[k] - minimum[k], k))
            out[rich] -= 1
            out[short[0]] += 1
    return out


class _Phones:
    """Unique Indonesian mobile numbers written as 0812-xxxx-xxxx."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        while True:
            prefix = self.rng.choice(_MOBILE_PREFIXES)
            number = f"{prefix}-{self.rng.randint(1000, 9999)}-{self.rng.randint(1000, 9999)}"
            if number not in self.used:
                self.used.add(number)
                return number


class _Names:
    """Unique full names; about 80 % women when female_share is 0.8."""

    def __init__(self, rng: random.Random, female_share: float) -> None:
        self.rng = rng
        self.female_share = female_share
        self.used: set[str] = set()

    def __call__(self) -> str:
        rng = self.rng
        while True:
            if rng.random() < self.female_share:
                first = rng.choice(FIRST_NAMES_F)
                second = rng.choice(MARGA) if rng.random() < 0.25 else rng.choice(SECOND_NAMES_F)
            else:
                first = rng.choice(FIRST_NAMES_M)
                second = rng.choice(LAST_NAMES)
            name = f"{first} {second}"
            if name not in self.used and first.split()[-1] != second:
                self.used.add(name)
                return name


def _email_part(full_name: str) -> str:
    """'Hj. Nur'aini Siregar' -> 'nuraini.siregar' (title dropped, ascii letters only)."""
    words = [w for w in full_name.split() if not w.endswith(".")]
    words = [re.sub(r"[^a-z]", "", w.lower()) for w in words]
    words = [w for w in words if w]
    return ".".join([words[0], words[-1]]) if len(words) > 1 else words[0]


def demo_outlets(n: int = 253, seed: int = 2018) -> list[dict]:
    """n e-Warong over the five cities, each with its manager; the same seed gives the same list."""
    rng = random.Random(seed)
    kec_by_city: dict[str, list[str]] = {c: [] for c in _CITIES}
    for code, _name, region in KECAMATAN:
        if region in kec_by_city:
            kec_by_city[region].append(code)
    per_city = _split(n, _CITY_WEIGHT, {c: len(kec_by_city[c]) for c in _CITIES})
    names = _Names(rng, 0.8)
    phones = _Phones(rng)
    kube_used: dict[str, int] = {}
    outlets: list[dict] = []
    for city in _CITIES:
        kecs = kec_by_city[city]
        count = per_city[city]
        chosen = list(kecs) if count >= len(kecs) else rng.sample(kecs, count)
        chosen += [rng.choice(kecs) for _ in range(count - len(chosen))]
        chosen.sort()
        for seq, kec in enumerate(chosen, start=1):
            code = f"EW-{city}-{seq:03d}"
            base = rng.choice(_KUBE_NAMES)
            kube_used[base] = kube_used.get(base, 0) + 1
            kube_name = f"KUBE {base}" + (f" {kube_used[base]}" if kube_used[base] > 1 else "")
            name = "e-Warong " + (kube_name if rng.random() < 0.6 else kube_name[len("KUBE "):])
            kelurahan = rng.choice(KELURAHAN[kec])
            roll = rng.random()
            if roll < 0.35:
                street = f"Jl. {kelurahan} Raya"
            elif roll < 0.5:
                street = f"Jl. {kelurahan} {rng.choice(_ROMAN)}"
            elif roll < 0.85:
                street = f"Jl. {rng.choice(_STREETS)}"
            else:
                street = f"Gg. {rng.choice(_STREETS)} {rng.choice(_ROMAN)}"
            address = f"{street} No. {rng.randint(1, 120)}, RT {rng.randint(1, 16):03d}/RW {rng.randint(1, 12):02d}"
            full_name = names()
            manager = dict(full_name=full_name,
                           email=f"{_email_part(full_name)}.ew{city}{seq:03d}@demo.okoce.id",
                           phone=phones())
            outlets.append(dict(code=code, name=name, kube_name=kube_name, address=address, kelurahan=kelurahan,
                                kecamatan_code=kec, region_code=city, phone=phones(), manager=manager))
    return outlets


#: the current cohort: e-Warong opened since 2018 in one city, numbered after that city's 2018 outlets
CURRENT_REGION = "3171"
CURRENT_SIZE = 36


def demo_current_outlets(n: int = CURRENT_SIZE, region_code: str = CURRENT_REGION, seed: int = 7) -> list[dict]:
    """n newer e-Warong of one city with their managers, for the current cohort.

    Independent of the day the demo is seeded (only the dates of what happens to them are);
    codes, names, e-mails and phones never collide with the 2018 outlets and managers.
    """
    rng = random.Random(seed * 1009 + int(region_code))
    old = demo_outlets()
    names = _Names(rng, 0.75)
    names.used.update(o["manager"]["full_name"] for o in old)
    phones = _Phones(rng)
    phones.used.update(p for o in old for p in (o["phone"], o["manager"]["phone"]))
    taken = {o["name"] for o in old} | {o["kube_name"] for o in old}
    first = sum(o["region_code"] == region_code for o in old) + 1
    kecs = [code for code, _name, region in KECAMATAN if region == region_code]
    outlets: list[dict] = []
    for seq in range(first, first + n):
        kec = kecs[(seq - first) % len(kecs)]
        base = rng.choice(_KUBE_NAMES)
        kube_name, k = f"KUBE {base}", 1
        while kube_name in taken or "e-Warong " + kube_name in taken:
            k += 1
            kube_name = f"KUBE {base} {k}"
        taken.add(kube_name)
        name = "e-Warong " + (kube_name if rng.random() < 0.6 else kube_name[len("KUBE "):])
        while name in taken:  # "e-Warong Melati" may already be a 2018 outlet's name
            k += 1
            name = f"e-Warong {base} {k}"
        taken.add(name)
        kelurahan = rng.choice(KELURAHAN[kec])
        street = rng.choice([f"Jl. {kelurahan} Raya", f"Jl. {rng.choice(_STREETS)}", f"Gg. {rng.choice(_STREETS)} {rng.choice(_ROMAN)}"])
        address = f"{street} No. {rng.randint(1, 120)}, RT {rng.randint(1, 16):03d}/RW {rng.randint(1, 12):02d}"
        full_name = names()
        code = f"EW-{region_code}-{seq:03d}"
        manager = dict(full_name=full_name, email=f"{_email_part(full_name)}.ew{region_code}{seq:03d}@demo.okoce.id",
                       phone=phones())
        outlets.append(dict(code=code, name=name, kube_name=kube_name, address=address, kelurahan=kelurahan,
                            kecamatan_code=kec, region_code=region_code, phone=phones(), manager=manager))
    return outlets


def demo_mentors(seed: int = 2018) -> list[dict]:
    """Three pendamping (mentors) per city."""
    rng = random.Random(seed * 31 + 7)
    names = _Names(rng, 0.5)
    phones = _Phones(rng)
    return [dict(full_name=names(), email=f"pendamping.{_CITY_SLUG[city]}{i}@demo.okoce.id", phone=phones(),
                 region_code=city)
            for city in _CITIES for i in (1, 2, 3)]


_COORDINATORS: tuple[tuple[str, str, str], ...] = (
    ("3171", "Hj. Nurhasanah Lubis", "0812-9510-3171"),
    ("3172", "Ahmad Syarifuddin", "0813-8822-3172"),
    ("3173", "Dewi Kusumawati", "0821-1170-3173"),
    ("3174", "Rudi Hermawan", "0857-7745-3174"),
    ("3175", "Euis Komariah", "0878-8890-3175"),
)


def demo_coordinators() -> list[dict]:
    """One koordinator per city."""
    return [dict(full_name=name, email=f"koordinator.{_CITY_SLUG[city]}@demo.okoce.id", phone=phone,
                 region_code=city)
            for city, name, phone in _COORDINATORS]


DEMO_ADMIN = dict(full_name="Admin Dinas Sosial DKI", email="admin@demo.okoce.id", phone="021-3865020")


def _check() -> None:
    outlets = demo_outlets() + demo_current_outlets()
    people = [o["manager"] for o in outlets] + demo_mentors() + demo_coordinators() + [DEMO_ADMIN]
    assert outlets == demo_outlets() + demo_current_outlets() and demo_mentors() == demo_mentors(), "not deterministic"
    for key in ("code", "name", "phone"):
        assert len({o[key] for o in outlets}) == len(outlets), f"duplicate outlet {key}"
    emails = [p["email"] for p in people]
    assert len(set(emails)) == len(emails), "duplicate e-mail"
    assert all(re.fullmatch(r"[a-z0-9.]+@demo\.okoce\.id", e) for e in emails), "bad e-mail"
    assert all(_NAME_OK.fullmatch(p["full_name"]) for p in people), "bad name"
    used = {o["kecamatan_code"] for o in outlets}
    assert all(code in used for code, _, region in KECAMATAN if region in _CITIES), "kecamatan without outlet"


if __name__ == "__main__":
    _check()
    outlets = demo_outlets()
    region_names = dict(REGIONS)
    print(f"{len(outlets)} outlets, {len(demo_mentors())} mentors, {len(demo_coordinators())} coordinators")
    women = sum(o["manager"]["full_name"].split()[0] in FIRST_NAMES_F
                or " ".join(o["manager"]["full_name"].split()[:2]) in FIRST_NAMES_F for o in outlets)
    print(f"managers: {women} women, {len(outlets) - women} men")
    for region_code, region_name in REGIONS:
        in_region = [o for o in outlets if o["region_code"] == region_code]
        print(f"\n{region_code} {region_name}: {len(in_region)}")
        for code, name, region in KECAMATAN:
            if region == region_code:
                print(f"  {code} {name:<26} {sum(o['kecamatan_code'] == code for o in in_region):3d}")
    print("\nexamples:")
    for o in outlets[:3]:
        print(" ", o)
