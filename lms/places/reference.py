"""Reference data of DKI Jakarta: regions, kecamatan (BPS codes) and some kelurahan.

Pure data, standard library only. The kecamatan codes match the ones the first migration
inserts (region code + 010, 020, ... in this order).
"""
from __future__ import annotations

#: (code, name) of the five kota administrasi and the kabupaten administrasi
REGIONS: tuple[tuple[str, str], ...] = (
    ("3171", "Jakarta Pusat"),
    ("3172", "Jakarta Utara"),
    ("3173", "Jakarta Barat"),
    ("3174", "Jakarta Selatan"),
    ("3175", "Jakarta Timur"),
    ("3101", "Kepulauan Seribu"),
)

#: (seven-digit BPS code, name, region code) of the 44 kecamatan
KECAMATAN: tuple[tuple[str, str, str], ...] = (
    # Jakarta Pusat
    ("3171010", "Gambir", "3171"),
    ("3171020", "Sawah Besar", "3171"),
    ("3171030", "Kemayoran", "3171"),
    ("3171040", "Senen", "3171"),
    ("3171050", "Cempaka Putih", "3171"),
    ("3171060", "Menteng", "3171"),
    ("3171070", "Tanah Abang", "3171"),
    ("3171080", "Johar Baru", "3171"),
    # Jakarta Utara
    ("3172010", "Penjaringan", "3172"),
    ("3172020", "Pademangan", "3172"),
    ("3172030", "Tanjung Priok", "3172"),
    ("3172040", "Koja", "3172"),
    ("3172050", "Kelapa Gading", "3172"),
    ("3172060", "Cilincing", "3172"),
    # Jakarta Barat
    ("3173010", "Kembangan", "3173"),
    ("3173020", "Kebon Jeruk", "3173"),
    ("3173030", "Palmerah", "3173"),
    ("3173040", "Grogol Petamburan", "3173"),
    ("3173050", "Tambora", "3173"),
    ("3173060", "Taman Sari", "3173"),
    ("3173070", "Cengkareng", "3173"),
    ("3173080", "Kalideres", "3173"),
    # Jakarta Selatan
    ("3174010", "Jagakarsa", "3174"),
    ("3174020", "Pasar Minggu", "3174"),
    ("3174030", "Cilandak", "3174"),
    ("3174040", "Pesanggrahan", "3174"),
    ("3174050", "Kebayoran Lama", "3174"),
    ("3174060", "Kebayoran Baru", "3174"),
    ("3174070", "Mampang Prapatan", "3174"),
    ("3174080", "Pancoran", "3174"),
    ("3174090", "Tebet", "3174"),
    ("3174100", "Setiabudi", "3174"),
    # Jakarta Timur
    ("3175010", "Pasar Rebo", "3175"),
    ("3175020", "Ciracas", "3175"),
    ("3175030", "Cipayung", "3175"),
    ("3175040", "Makasar", "3175"),
    ("3175050", "Kramat Jati", "3175"),
    ("3175060", "Jatinegara", "3175"),
    ("3175070", "Duren Sawit", "3175"),
    ("3175080", "Cakung", "3175"),
    ("3175090", "Pulo Gadung", "3175"),
    ("3175100", "Matraman", "3175"),
    # Kepulauan Seribu
    ("3101010", "Kepulauan Seribu Selatan", "3101"),
    ("3101020", "Kepulauan Seribu Utara", "3101"),
)

assert len(KECAMATAN) == 44

#: some kelurahan of each kecamatan (not complete; only used for believable demo addresses)
KELURAHAN: dict[str, tuple[str, ...]] = {
    # Jakarta Pusat
    "3171010": ("Gambir", "Kebon Kelapa", "Petojo Utara", "Duri Pulo", "Cideng", "Petojo Selatan"),
    "3171020": ("Pasar Baru", "Gunung Sahari Utara", "Mangga Dua Selatan", "Karang Anyar", "Kartini"),
    "3171030": ("Kemayoran", "Kebon Kosong", "Harapan Mulya", "Cempaka Baru", "Sumur Batu", "Utan Panjang"),
    "3171040": ("Senen", "Kwitang", "Kenari", "Paseban", "Kramat", "Bungur"),
    "3171050": ("Cempaka Putih Timur", "Cempaka Putih Barat", "Rawasari"),
    "3171060": ("Menteng", "Pegangsaan", "Cikini", "Kebon Sirih", "Gondangdia"),
    "3171070": ("Bendungan Hilir", "Karet Tengsin", "Kebon Melati", "Kebon Kacang", "Kampung Bali", "Petamburan"),
    "3171080": ("Johar Baru", "Kampung Rawa", "Tanah Tinggi", "Galur"),
    # Jakarta Utara
    "3172010": ("Penjaringan", "Pluit", "Pejagalan", "Kapuk Muara", "Kamal Muara"),
    "3172020": ("Pademangan Barat", "Pademangan Timur", "Ancol"),
    "3172030": ("Tanjung Priok", "Kebon Bawang", "Sungai Bambu", "Papanggo", "Warakas", "Sunter Jaya"),
    "3172040": ("Koja", "Lagoa", "Rawa Badak Utara", "Rawa Badak Selatan", "Tugu Utara", "Tugu Selatan"),
    "3172050": ("Kelapa Gading Barat", "Kelapa Gading Timur", "Pegangsaan Dua"),
    "3172060": ("Cilincing", "Kalibaru", "Marunda", "Rorotan", "Semper Barat", "Sukapura"),
    # Jakarta Barat
    "3173010": ("Kembangan Utara", "Kembangan Selatan", "Meruya Utara", "Meruya Selatan", "Srengseng", "Joglo"),
    "3173020": ("Kebon Jeruk", "Sukabumi Utara", "Sukabumi Selatan", "Kelapa Dua", "Duri Kepa", "Kedoya Utara"),
    "3173030": ("Palmerah", "Slipi", "Kota Bambu Utara", "Kota Bambu Selatan", "Jati Pulo", "Kemanggisan"),
    "3173040": ("Grogol", "Jelambar", "Jelambar Baru", "Wijaya Kusuma", "Tanjung Duren Utara", "Tomang"),
    "3173050": ("Tambora", "Kali Anyar", "Duri Utara", "Tanah Sereal", "Angke", "Jembatan Lima"),
    "3173060": ("Taman Sari", "Glodok", "Pinangsia", "Krukut", "Keagungan", "Mangga Besar"),
    "3173070": ("Cengkareng Barat", "Cengkareng Timur", "Duri Kosambi", "Kapuk", "Kedaung Kali Angke", "Rawa Buaya"),
    "3173080": ("Kalideres", "Kamal", "Pegadungan", "Semanan", "Tegal Alur"),
    # Jakarta Selatan
    "3174010": ("Jagakarsa", "Cipedak", "Srengseng Sawah", "Ciganjur", "Lenteng Agung", "Tanjung Barat"),
    "3174020": ("Pasar Minggu", "Jati Padang", "Ragunan", "Pejaten Barat", "Pejaten Timur", "Kebagusan"),
    "3174030": ("Cilandak Barat", "Lebak Bulus", "Pondok Labu", "Gandaria Selatan", "Cipete Selatan"),
    "3174040": ("Pesanggrahan", "Bintaro", "Ulujami", "Petukangan Utara", "Petukangan Selatan"),
    "3174050": ("Kebayoran Lama Utara", "Kebayoran Lama Selatan", "Grogol Utara", "Grogol Selatan", "Cipulir",
                "Pondok Pinang"),
    "3174060": ("Kramat Pela", "Gandaria Utara", "Cipete Utara", "Pulo", "Petogogan", "Rawa Barat"),
    "3174070": ("Mampang Prapatan", "Bangka", "Pela Mampang", "Tegal Parang", "Kuningan Barat"),
    "3174080": ("Pancoran", "Kalibata", "Rawajati", "Duren Tiga", "Cikoko", "Pengadegan"),
    "3174090": ("Tebet Barat", "Tebet Timur", "Kebon Baru", "Bukit Duri", "Manggarai", "Menteng Dalam"),
    "3174100": ("Setiabudi", "Karet", "Karet Kuningan", "Kuningan Timur", "Menteng Atas", "Pasar Manggis"),
    # Jakarta Timur
    "3175010": ("Pekayon", "Kalisari", "Baru", "Cijantung", "Gedong"),
    "3175020": ("Ciracas", "Cibubur", "Kelapa Dua Wetan", "Susukan", "Rambutan"),
    "3175030": ("Cipayung", "Cilangkap", "Pondok Ranggon", "Munjul", "Bambu Apus", "Lubang Buaya"),
    "3175040": ("Makasar", "Pinang Ranti", "Kebon Pala", "Halim Perdana Kusuma", "Cipinang Melayu"),
    "3175050": ("Kramat Jati", "Batu Ampar", "Bale Kambang", "Kampung Tengah", "Dukuh", "Cililitan"),
    "3175060": ("Bali Mester", "Kampung Melayu", "Bidara Cina", "Cipinang Cempedak", "Rawa Bunga",
                "Cipinang Muara"),
    "3175070": ("Pondok Bambu", "Duren Sawit", "Pondok Kelapa", "Pondok Kopi", "Malaka Jaya", "Klender"),
    "3175080": ("Jatinegara", "Rawa Terate", "Penggilingan", "Cakung Timur", "Cakung Barat", "Pulo Gebang"),
    "3175090": ("Pulo Gadung", "Pisangan Timur", "Cipinang", "Jatinegara Kaum", "Rawamangun", "Kayu Putih"),
    "3175100": ("Kebon Manggis", "Pal Meriam", "Pisangan Baru", "Kayu Manis", "Utan Kayu Selatan",
                "Utan Kayu Utara"),
    # Kepulauan Seribu
    "3101010": ("Pulau Tidung", "Pulau Pari", "Pulau Untung Jawa"),
    "3101020": ("Pulau Panggang", "Pulau Kelapa", "Pulau Harapan"),
}

assert set(KELURAHAN) == {code for code, _, _ in KECAMATAN}
