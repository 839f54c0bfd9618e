"""Where a webhook may send: public https addresses only, checked again at every send.

Notifications carry customers' ids and are signed with the shop's secret, so they go
over TLS only and never to the machine itself, the shop's private network, link-local
cloud metadata, multicast or reserved space. A name is resolved and *every* address it
has must be public; the connection is then made to the very address checked (the name
still used for TLS and the Host header), so a name that changes its answer between
the check and the send (DNS rebinding) gains nothing. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(urllib.error.URLError):
    """The URL is not one a webhook may send to; `reason` says why, for people."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` has (the resolver; tests replace it, never using real DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def dial(address: str, port: int, timeout: float | None) -> socket.socket:
    """The TCP connection to a checked address (tests route it to a local receiver)."""
    return socket.create_connection((address, port), timeout)


def ssl_context() -> ssl.SSLContext:
    """Certificates checked against the system's authorities, host names verified."""
    return ssl.create_default_context()


def _refusal(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return _("It points at this server itself.")
    if address.is_unspecified:
        return _("It points at an unspecified address.")
    if address.is_link_local:
        return _("It points at a link-local address.")
    if address.is_multicast:
        return _("It points at a multicast address.")
    if address.is_reserved:
        return _("It points at a reserved address.")
    if address.is_private:
        return _("It points at a private network address.")
    if not address.is_global:
        return _("It points at a reserved address.")
    return None


def _looks_numeric(host: str) -> bool:
    # No top-level domain is all digits: "2130706433" or "0x7f.1" are addresses in
    # disguise that resolvers would turn into 127.0.0.1.
    last = host.rstrip(".").rsplit(".", 1)[-1]
    return last.isdigit() or last.lower().startswith("0x")


def webhook_target_check(url: str) -> Target:
    """The checked target of `url`, or TargetRefused with a message for the owner."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise TargetRefused(
            _("Use an https:// address: notifications must not travel in clear text.")
        )
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            _("Put no user name or password in the address; the signature proves the sender.")
        )
    host = (parts.hostname or "").strip()
    try:
        port = parts.port or 443
    except ValueError:
        raise TargetRefused(_("The address has an invalid port.")) from None
    if not host:
        raise TargetRefused(_("The address has no host name."))
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and _looks_numeric(host):
        raise TargetRefused(_("Write the address as a host name or a plain IP address."))
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            addresses = []
        if not addresses:
            raise TargetRefused(_("The host name cannot be found."))
    for address in addresses:
        reason = _refusal(ipaddress.ip_address(address))
        if reason is not None:
            raise TargetRefused(
                _("Only public internet addresses can receive webhooks. %(reason)s")
                % {"reason": reason}
            )
    return Target(host=host, port=port, addresses=tuple(addresses))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address while TLS and Host use the name."""

    def __init__(self, *args, address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._checked_address = address

    def connect(self) -> None:
        sock = dial(self._checked_address, self.port, self.timeout)
        # _context is set by HTTPSConnection.__init__; typeshed leaves it out.
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self.host
        )


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str):
        super().__init__(context=ssl_context())
        self._address = address

    def https_open(self, req):
        connection = partial(_PinnedHTTPSConnection, address=self._address)
        return self.do_open(connection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx answer is an HTTPError: the receiver must answer itself


def urlopen(request: urllib.request.Request, *, timeout: float):
    """`urllib.request.urlopen` for webhooks: check the target now, send only there."""
    target = webhook_target_check(request.full_url)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirects(), _PinnedHTTPSHandler(target.addresses[0])
    )
    return opener.open(request, timeout=timeout)
