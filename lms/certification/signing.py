"""Signed certificate PDFs: PDF/A-3b, tagged, with the credential attached and a PAdES signature.

Every stored certificate is a PDF/A-3b file (tagged, with its language) that carries the Open
Badges credential as an associated file (``credential.json``) and is signed with PAdES by pyHanko:
B-B always, B-T when ``TSA_URL`` names an RFC 3161 timestamping authority.

Three places use this module:

* the web process (or the RQ worker) before a render: :func:`render_extras` names the signing key
  (:class:`SignerSpec`, a plain value sent to the render process) and fetches the credential text;
* the render process: :func:`pdf_options` (WeasyPrint's PDF/A options and the attachment) and
  :func:`sign` (the signature); the key is loaded once per process and the signer reused;
* the public "Periksa berkas" page: :func:`check_file` tells whether uploaded bytes are an issued
  certificate (its sha256) and whether the signature is intact, covers the whole file and comes
  from our trust root.

Which key: ``SIGNING_P12`` (with ``SIGNING_P12_PASSWORD``) when set; otherwise the instance's test
authority ``instance/signing/dev-signer.p12`` made by ``flask --app lms certificates dev-keys``
(``make run`` makes it); under ``TESTING`` without either, a test authority made once per process
in a temporary folder, so the tests always sign. Outside tests with no key at all, rendering fails
with a message saying so.

Nothing here fetches anything from the network while signing or validating (no AIA, OCSP or CRL
fetching; validation trusts only the roots of our own signer's chain); the one request is the
timestamp from the configured TSA.
"""
from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():  # pyHanko imports cryptography's DSA module, which warns on import
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from asn1crypto import algos, cms
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

if TYPE_CHECKING:
    from .models import Certificate

log = logging.getLogger(__name__)

#: the embedded credential's file name inside the PDF
CREDENTIAL_FILE = "credential.json"
#: PDF/A-3 AFRelationship of the credential: "Alternative", because it is the same certificate
#: (holder, achievement, issuer, date) in a machine-readable form, not data the page is drawn from
#: ("Data"/"Source") nor extra material ("Supplement")
CREDENTIAL_RELATIONSHIP = "Alternative"
#: the signature field's name
FIELD_NAME = "Tanda tangan penerbit"
#: the instance's test authority (``flask certificates dev-keys``)
DEV_DIR = "signing"
DEV_P12 = "dev-signer.p12"
DEV_CA = "dev-ca.pem"
DEV_CA_NAME = "7 PAS LMS — OTORITAS UJI (bukan untuk produksi)"
DEV_SIGNER_NAME = "Penerbit Sertifikat 7 PAS — UJI (bukan produksi)"
#: bytes reserved in the file for a timestamp token (the TSA's certificates come with it)
TIMESTAMP_RESERVE = 16 * 1024


class SigningError(Exception):
    """No usable signing key, or the signature could not be made (the message says why)."""


@dataclass(frozen=True)
class SignerSpec:
    """Which key signs: sent with the render context to the render process (plain, picklable)."""

    p12: str
    password: str | None = None
    #: RFC 3161 timestamping authority: PAdES B-T instead of B-B
    tsa_url: str | None = None
    tsa_timeout: float = 10.0


# --- which key (web process, RQ worker) -----------------------------------------------------------

def dev_dir(app: Any = None) -> Path:
    from flask import current_app

    return Path((app or current_app).instance_path) / DEV_DIR


def signer_spec(app: Any = None) -> SignerSpec:
    """The configured signing key; see the module's docstring for the order. SigningError when none."""
    from flask import current_app

    app = app or current_app
    password = app.config.get("SIGNING_P12_PASSWORD") or None
    tsa = app.config.get("TSA_URL") or None
    configured = app.config.get("SIGNING_P12")
    if configured:
        if not Path(configured).is_file():
            raise SigningError(f"SIGNING_P12 {configured!r} is not a readable file")
        return SignerSpec(str(Path(configured).resolve()), password, tsa)
    dev = dev_dir(app) / DEV_P12
    if dev.is_file():
        return SignerSpec(str(dev), password, tsa)
    if app.testing:
        return SignerSpec(_test_p12(), None, tsa)
    raise SigningError("no signing key: set LMS_SIGNING_P12 (and LMS_SIGNING_P12_PASSWORD), or make the "
                       "test authority with `flask --app lms certificates dev-keys`")


_test_lock = threading.Lock()
_test_file: str | None = None


def _test_p12() -> str:
    """A test authority made once per process (tests, the benchmark), removed when the process ends."""
    global _test_file
    with _test_lock:
        if _test_file is None or not Path(_test_file).is_file():
            folder = Path(tempfile.mkdtemp(prefix="lms-test-signing-"))
            atexit.register(shutil.rmtree, folder, True)
            p12, _ca = make_dev_keys(folder)
            _test_file = str(p12)
        return _test_file


def credential_json(cert: Certificate) -> str | None:
    """The certificate's signed Open Badges credential (lms.credentials.issuing), made if needed.

    None while that module does not exist yet (the PDF is then made without the attachment)."""
    try:
        from ..credentials.issuing import ensure_credential  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as e:
        if e.name not in ("lms.credentials", "lms.credentials.issuing"):
            raise
        return None
    return str(ensure_credential(cert))


def render_extras(cert: Certificate) -> dict[str, Any]:
    """What the render process needs besides the printed texts: the key to sign with, the credential."""
    return {"signing": signer_spec(), "credential_json": credential_json(cert)}


# --- the test authority (``flask certificates dev-keys``) ------------------------------------------

def _name(cn: str, ou: str | None = None) -> cx509.Name:
    attrs = [cx509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
             cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "7 PAS LMS (UJI)")]
    if ou:
        attrs.append(cx509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(cx509.NameAttribute(NameOID.COMMON_NAME, cn))
    return cx509.Name(attrs)


def _key_usage(**on: bool) -> cx509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return cx509.KeyUsage(**{n: on.get(n, False) for n in names})


def make_dev_keys(folder: Path, password: str | None = None, *, years: int = 10) -> tuple[Path, Path]:
    """A test CA and a signer certificate it issued: ``dev-signer.p12`` (key + chain) and ``dev-ca.pem``.

    The CA's private key is thrown away once the signer's certificate is made: nothing else can be
    issued under this test authority."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    until = now + dt.timedelta(days=365 * years)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name(DEV_CA_NAME, "Otoritas sertifikat uji")
    ca = (cx509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(cx509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(until)
          .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(cx509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (cx509.CertificateBuilder().subject_name(_name(DEV_SIGNER_NAME, "Dinas Sosial Provinsi DKI Jakarta"))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(cx509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(until)
            .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(cx509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption())
    p12 = pkcs12.serialize_key_and_certificates(b"7 PAS LMS test signer", key, cert, [ca], enc)
    p12_path, ca_path = folder / DEV_P12, folder / DEV_CA
    for path, data in ((p12_path, p12), (ca_path, ca.public_bytes(serialization.Encoding.PEM))):
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return p12_path, ca_path


# --- the loaded key (once per process) ----------------------------------------------------------------

#: the DER of a message-digest attribute's type and value up to the SHA-256 digest itself
_MESSAGE_DIGEST_PREFIX = bytes.fromhex("06092a864886f70d010904" "3122" "0420")


class _Signer(signers.SimpleSigner):
    """pyHanko's SimpleSigner made cheap to reuse for thousands of signatures in one process.

    pyHanko rebuilds, for every signature, ASN.1 structures that never change for one signer: it
    parses the private key again (RSA key checks), and copies the signer's certificate names into
    the signing-certificate-v2 attribute and the SignerInfo's issuer-and-serial. Those took about
    25 ms of CPU a certificate, a fifth of a render. Here they are made once, by pyHanko itself, and
    kept as DER: the PAdES signed attributes (content type, message digest, signing certificate v2)
    differ between two signatures only in the 32 bytes of the document's SHA-256, which are put in
    place; the SignerInfo's identifier and algorithms are reused as they are. Anything outside that
    case (another digest, CAdES attributes, a dry run) goes through pyHanko unchanged, and the
    template is only used after checking that it reproduces pyHanko's own encoding byte for byte.
    """

    def __init__(self, private_key: Any, **kw: Any):
        super().__init__(**kw)
        self._private_key = private_key
        #: (signed attributes DER, offset of the digest in it); False: pyHanko's way every time
        self._attrs_template: tuple[bytes, int] | bool | None = None
        #: DER of the SignerInfo's sid, digestAlgorithm and signatureAlgorithm (SHA-256)
        self._info_parts: tuple[bytes, bytes, bytes] | None = None

    async def signed_attrs(self, data_digest: bytes, digest_algorithm: str, attr_settings: Any = None,
                           content_type: str = "data", use_pades: bool = False, timestamper: Any = None,
                           dry_run: bool = False, is_pdf_sig: bool = True) -> cms.CMSAttributes:
        def pyhanko(digest: bytes) -> Any:
            return super(_Signer, self).signed_attrs(
                digest, digest_algorithm, attr_settings=attr_settings, content_type=content_type,
                use_pades=use_pades, timestamper=timestamper, dry_run=dry_run, is_pdf_sig=is_pdf_sig)

        plain = (use_pades and is_pdf_sig and not dry_run and content_type == "data" and digest_algorithm == "sha256"
                 and len(data_digest) == 32 and (attr_settings is None or (
                     attr_settings.cades_signed_attrs is None and attr_settings.adobe_revinfo_attr is None)))
        if not plain or self._attrs_template is False:
            return await pyhanko(data_digest)
        if self._attrs_template is None:
            own = await pyhanko(data_digest)
            der = own.dump()
            at = der.find(_MESSAGE_DIGEST_PREFIX + data_digest)
            types = sorted(a["type"].native for a in own)
            other = os.urandom(32)
            ok = (at >= 0 and types == ["content_type", "message_digest", "signing_certificate_v2"]
                  and (await pyhanko(other)).dump() == der[:at + len(_MESSAGE_DIGEST_PREFIX)] + other
                  + der[at + len(_MESSAGE_DIGEST_PREFIX) + 32:])
            self._attrs_template = (der, at + len(_MESSAGE_DIGEST_PREFIX)) if ok else False
            return own
        der, at = self._attrs_template  # type: ignore[misc]
        return cms.CMSAttributes.load(der[:at] + data_digest + der[at + 32:])

    def signer_info(self, digest_algorithm: str, signed_attrs: Any, signature: bytes) -> cms.SignerInfo:
        if digest_algorithm != "sha256":
            return super().signer_info(digest_algorithm, signed_attrs, signature)
        if self._info_parts is None:
            info = super().signer_info(digest_algorithm, signed_attrs, signature)
            self._info_parts = (info["sid"].dump(), info["digest_algorithm"].dump(),
                                info["signature_algorithm"].dump())
            return info
        sid, digest_alg, signature_alg = self._info_parts
        return cms.SignerInfo({
            "version": "v1", "sid": cms.SignerIdentifier.load(sid),
            "digest_algorithm": algos.DigestAlgorithm.load(digest_alg),
            "signature_algorithm": algos.SignedDigestAlgorithm.load(signature_alg),
            "signed_attrs": signed_attrs, "signature": signature})

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)  # type: ignore[no-any-return]


@dataclass
class _Loaded:
    signer: _Signer
    #: the chain's roots (self-signed certificates; the top of the chain when none is)
    roots: list[asn1_x509.Certificate]
    timestamper: HTTPTimeStamper | None
    #: room for the signature container, in hex digits as pyHanko counts it: a generous bound from
    #: the certificates and the key (no dry-run signature to estimate it: that would sign twice and,
    #: for B-T, ask the TSA twice) ...
    reserve: int
    #: ... then, once the first signature shows the real size, that size with a margin (the file then
    #: carries a few hundred padding bytes, not several kilobytes)
    fitted: int | None = None


_loaded: dict[tuple[Any, ...], _Loaded] = {}
_loaded_lock = threading.Lock()


def _asn1(cert: cx509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def load(spec: SignerSpec) -> _Loaded:
    """The signer for ``spec``, loaded once per process (again when the file changes)."""
    try:
        st = os.stat(spec.p12)
    except OSError as e:
        raise SigningError(f"cannot read the signing key {spec.p12}: {e.strerror}") from None
    cache_key = (spec.p12, st.st_mtime_ns, st.st_size, spec.password, spec.tsa_url, spec.tsa_timeout)
    found = _loaded.get(cache_key)
    if found is not None:
        return found
    with _loaded_lock:
        found = _loaded.get(cache_key)
        if found is None:
            found = _loaded[cache_key] = _load(spec)
    return found


def _load(spec: SignerSpec) -> _Loaded:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            Path(spec.p12).read_bytes(), spec.password.encode() if spec.password else None)
    except (ValueError, TypeError) as e:
        raise SigningError(f"cannot open the signing key {spec.p12} (wrong password or not PKCS#12): {e}") from None
    if key is None or cert is None:
        raise SigningError(f"{spec.p12} holds no private key with its certificate")
    chain = [_asn1(c) for c in extra]
    signing_cert = _asn1(cert)
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signer = _Signer(key, signing_cert=signing_cert, signing_key=key_info,
                     cert_registry=SimpleCertificateStore.from_certs([signing_cert, *chain]))
    everything = [signing_cert, *chain]
    roots = [c for c in everything if c.self_signed] or [everything[-1]]
    key_bytes = (getattr(key, "key_size", 4096) + 7) // 8
    reserve = sum(len(c.dump()) for c in everything) + 2 * key_bytes + 4096  # certificates, signature, attributes
    if spec.tsa_url:
        reserve += TIMESTAMP_RESERVE
    reserve *= 2  # hex
    timestamper = HTTPTimeStamper(spec.tsa_url, timeout=spec.tsa_timeout) if spec.tsa_url else None
    return _Loaded(signer, roots, timestamper, reserve)


# --- in the render process ----------------------------------------------------------------------------

def _finish(document: Any, pdf: Any) -> None:
    """WeasyPrint's finisher, run on the PDF objects before they are written.

    * no Info producer: pyHanko rewrites the XMP producer but appends to the Info one, and PDF/A
      wants the two equal; without an Info producer, pyHanko writes the same one in both;
    * the catalog's /AF lists each associated file once (WeasyPrint 70 adds it twice: from the
      EmbeddedFiles name tree and again from the file specification objects)."""
    pdf.info.pop("Producer", None)
    af = pdf.catalog.get("AF")
    if af:
        unique = list(dict.fromkeys(af))
        af.clear()
        af.extend(unique)


_icc: bytes | None = None


def _output_intent() -> dict[str, Any]:
    """The sRGB output intent PDF/A needs, from WeasyPrint's own profile read once per process.

    (Left to itself, WeasyPrint 70 opens its sRGB2014.icc for every PDF/A document and never closes
    it: a file descriptor and a ResourceWarning per certificate.)"""
    global _icc
    from weasyprint.css import ColorProfile

    if _icc is None:
        from importlib.resources import files

        _icc = (files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()
    profile = ColorProfile(io.BytesIO(_icc), "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))
    return {"output_intent": "lms-srgb", "color_profiles": {"lms-srgb": profile}}


def pdf_options(context: dict[str, Any], url_fetcher: Any) -> dict[str, Any]:
    """WeasyPrint's ``write_pdf`` options: PDF/A-3b, tagged, the credential as an associated file."""
    from weasyprint import Attachment

    options: dict[str, Any] = {"pdf_variant": "pdf/a-3b", "pdf_tags": True, "finisher": _finish, **_output_intent()}
    credential = context.get("credential_json")
    if credential:
        when = None
        if context.get("issued_iso"):
            when = dt.datetime.fromisoformat(context["issued_iso"]).astimezone(dt.timezone.utc).replace(tzinfo=None)
        options["attachments"] = [Attachment(
            string=credential, url_fetcher=url_fetcher, name=CREDENTIAL_FILE, relationship=CREDENTIAL_RELATIONSHIP,
            description="Open Badges 3.0 credential (signed)", created=when, modified=when)]
    return options


def sign(pdf: bytes, spec: SignerSpec, *, reason: str | None = None, location: str | None = None) -> bytes:
    """``pdf`` with a PAdES signature (B-B, or B-T with the spec's TSA), as an incremental update."""
    loaded = load(spec)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location, embed_validation_info=False, use_pades_lta=False)
    pdf_signer = signers.PdfSigner(meta, loaded.signer, timestamper=loaded.timestamper)
    fitted = loaded.fitted
    for reserve in ((fitted, loaded.reserve) if fitted else (loaded.reserve,)):
        out = io.BytesIO()
        try:
            _run(pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out,
                                           bytes_reserved=reserve))
        except Exception as e:  # pyHanko's SigningError, a TSA that does not answer, …
            if reserve != loaded.reserve and "larger than expected" in str(e):
                continue  # a bigger container than the first one (a longer timestamp token): the generous room
            raise SigningError(f"signing failed: {type(e).__name__}: {e}") from None
        break
    data = out.getvalue()
    if reserve == loaded.reserve:
        size = _container_size(data)
        loaded.fitted = min(loaded.reserve, 2 * (size + max(512, size // 8)))
    return data


def _run(coro: Any) -> Any:
    """Run one of pyHanko's coroutines to its end from synchronous code (what its synchronous
    wrappers do with ``asyncio.run``), also when this thread already has an event loop marked as
    running (Playwright's synchronous API leaves one in a test process's main thread; an async
    server would too): then in a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(asyncio.run, coro).result()


def _container_size(signed: bytes) -> int:
    """The DER length of the signature container in the (last) signature of ``signed``."""
    from pyhanko.sign.validation.pdf_embedded import extract_contents

    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[-1]
    raw = extract_contents(sig.sig_object)
    if len(raw) < 4 or raw[0] != 0x30 or raw[1] < 0x80:
        return len(raw)
    n = raw[1] & 0x7F
    return 2 + n + int.from_bytes(raw[2:2 + n], "big")


def sign_rendered(pdf: bytes, context: dict[str, Any]) -> bytes:
    """The rendered certificate signed with the key ``context["signing"]`` names (unchanged without one)."""
    spec = context.get("signing")
    if not spec:
        return pdf
    serial = context.get("serial")
    return sign(pdf, spec, reason=f"Penerbitan sertifikat {serial}" if serial else None,
                location=context.get("place") or None)


# --- checking a file --------------------------------------------------------------------------------

@dataclass
class SignatureReport:
    """What the file's (first) signature says."""

    #: pyHanko could read the file as a PDF
    readable: bool = False
    signed: bool = False
    #: the signed bytes are unchanged (their digest matches the signed one)
    intact: bool = False
    #: the signature value checks out against the signer's certificate
    valid: bool = False
    #: it covers the entire file: nothing was added after signing
    whole_file: bool = False
    #: the signer's certificate chains to our trust root
    trusted: bool = False
    signer_name: str | None = None
    signer_organisation: str | None = None
    #: the time the signer's computer claimed
    signed_at: dt.datetime | None = None
    #: an RFC 3161 signature timestamp (PAdES B-T)
    timestamp_at: dt.datetime | None = None
    timestamp_intact: bool = False
    signatures: int = 0
    #: why it could not be checked (for logs; the page shows its own words)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.whole_file and self.trusted


def trust_roots(app: Any = None) -> list[asn1_x509.Certificate]:
    """Our trust roots: the roots of the configured signer's chain ([] without a key)."""
    try:
        return load(signer_spec(app)).roots
    except SigningError as e:
        log.warning("no trust root to check signatures with: %s", e)
        return []


def inspect(data: bytes, roots: list[asn1_x509.Certificate]) -> SignatureReport:
    """Validate the PDF's first signature with pyHanko against ``roots`` only (nothing is fetched)."""
    report = SignatureReport()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = list(reader.embedded_regular_signatures)
    except Exception as e:  # anything that is not a PDF pyHanko can read
        report.problem = f"{type(e).__name__}: {e}"[:300]
        return report
    report.readable = True
    report.signatures = len(sigs)
    if not sigs:
        return report
    report.signed = True
    sig = sigs[0]
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")

    async def validate() -> Any:
        try:
            return await async_validate_pdf_signature(sig, context, skip_diff=True)
        finally:
            await context.aclose()

    try:
        status = _run(validate())
    except Exception as e:  # a malformed signature container, an unsupported algorithm, …
        report.problem = f"{type(e).__name__}: {e}"[:300]
        return report
    report.intact, report.valid, report.trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
    report.whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    subject = status.signing_cert.subject.native
    report.signer_name = subject.get("common_name") or status.signing_cert.subject.human_friendly
    report.signer_organisation = subject.get("organization_name")
    report.signed_at = status.signer_reported_dt
    ts = status.timestamp_validity
    if ts is not None:
        report.timestamp_at = ts.timestamp
        report.timestamp_intact = bool(ts.intact and ts.valid)
    return report


@dataclass
class FileCheck:
    """The answer of "Periksa berkas" for one uploaded file (which is never stored)."""

    size: int
    sha256: str
    #: the issued certificate whose stored PDF has exactly these bytes
    certificate: Certificate | None
    signature: SignatureReport = field(default_factory=SignatureReport)


def check_file(data: bytes) -> FileCheck:
    """Is ``data`` byte for byte an issued certificate, and is its signature intact and ours?"""
    import sqlalchemy as sa

    from ..extensions import db
    from .models import Certificate

    digest = hashlib.sha256(data).hexdigest()
    cert = db.session.scalars(sa.select(Certificate).where(Certificate.pdf_sha256 == digest)
                              .order_by(Certificate.id).limit(1)).first()
    return FileCheck(size=len(data), sha256=digest, certificate=cert, signature=inspect(data, trust_roots()))
