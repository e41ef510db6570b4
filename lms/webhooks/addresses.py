"""Where a webhook may go: HTTPS to a public address, never into the Dinas' own network (SSRF).

The address is checked twice: when an admin saves the endpoint (the form says why it is refused)
and at every send, where the name is resolved again and the connection goes to the very address
that was checked (a name that later resolves to 10.0.0.5 or 169.254.169.254 is refused, and a
DNS answer cannot change between the check and the connect). Redirects are never followed.

``WEBHOOKS_ALLOW_HTTP_LOCAL`` (tests, a developer's receiver) also admits ``http://`` and
``https://`` to localhost / 127.0.0.1 / [::1]; nothing else private ever is.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _

#: the names that count as "this machine" for WEBHOOKS_ALLOW_HTTP_LOCAL
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Refused(Exception):
    """The URL or the address it resolves to may not receive webhooks (permanent)."""


class Unresolved(Exception):
    """The name did not resolve now (may be temporary at send time)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    #: path and query, as sent in the request line
    path: str
    #: the checked addresses to connect to, in the resolver's order
    ips: tuple[str, ...]


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def parse(url: str, allow_local: bool) -> tuple[str, str, int, str]:
    """Check the URL's shape: (scheme, host, port, path). Raises :class:`Refused` with a message for people."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(_("Alamat URL tidak valid.")) from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise Refused(_("Alamat harus diawali https:// dan memuat nama host."))
    if parts.username is not None or parts.password is not None:
        raise Refused(_("Alamat tidak boleh memuat nama pengguna atau kata sandi."))
    if parts.fragment:
        raise Refused(_("Alamat tidak boleh memuat #bagian."))
    local = allow_local and host in LOCAL_HOSTS
    if scheme != "https" and not local:
        raise Refused(_("Webhook hanya dikirim lewat https://."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _addresses(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as e:
        raise Unresolved(_("Nama host %(host)s tidak ditemukan (%(error)s).", host=host, error=e)) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check(url: str, allow_local: bool) -> Target:
    """Parse, resolve and check every address the name has (the connection tries them in order).

    Refused when ANY address is private, loopback, link-local, reserved or multicast (a name with
    one public and one private address could be steered to the private one)."""
    scheme, host, port, path = parse(url, allow_local)
    addresses = _addresses(host, port)
    if not addresses:
        raise Unresolved(_("Nama host %(host)s tidak ditemukan.", host=host))
    for a in addresses:
        ip = ipaddress.ip_address(a.split("%", 1)[0])
        if _public(ip):
            continue
        if allow_local and host in LOCAL_HOSTS and _loopback(ip):
            continue
        raise Refused(_("Alamat %(address)s adalah alamat jaringan internal; webhook hanya dikirim ke "
                        "alamat publik.", address=a))
    return Target(scheme, host, port, path, tuple(addresses))
