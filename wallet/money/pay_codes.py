"""Scan and pay: what a QR code read by the camera is, and the picture read.

Only this wallet's own payment codes are followed -- an address on the user
app's own origin that pays someone: a shop's or store's ``/pay/<handle>``, a
person's ``/to/<handle>`` (wallet.identity.handles), a checkout
``/checkout/pr_…``, a payment link ``/l/plink_…``. Anything else (another
site, another page of ours, text) is refused with :class:`NotAPayCode`, and
the caller goes to the page named by the :class:`PayCode` it got back (never
to the address as read): a QR code cannot send anyone anywhere else.

Pictures are read by zxing-cpp (its QR reader) on a Pillow image, bounded in
bytes by the caller and in pixels here (a small file can claim a huge image)."""
from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image, UnidentifiedImageError

from ..identity.handles import read_handle
from .errors import NOT_A_PAY_CODE, NotAPayCode, UnreadableImage

__all__ = ["MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "PayCode", "PayCodeKind", "pay_code",
           "read_qr_codes"]

#: The largest picture the scan page sends (it scales photos down first).
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: Pixels, width × height: a phone's photo, not a decompression bomb.
MAX_IMAGE_PIXELS = 4096 * 4096
#: Pictures are scaled down to this side first: QR codes read as well, faster.
READ_SIDE = 1600
QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,40}", re.ASCII)
UNREADABLE = "That picture could not be read: take a photo of the QR code (JPEG or PNG)."


class PayCodeKind(StrEnum):
    SHOP = "shop"  # /pay/<shop or store handle>
    PERSON = "person"  # /to/<person's handle>
    CHECKOUT = "checkout"  # /checkout/pr_…
    LINK = "link"  # /l/plink_…


@dataclass(frozen=True)
class PayCode:
    """One of the wallet's payment codes: what it pays (its page's key)."""

    kind: PayCodeKind
    key: str


def _origin(url: str) -> tuple[str, str, str] | None:
    """(scheme, host:port, path without its trailing slash) of an http(s)
    address, else None; default ports written out, hosts lowercased."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, f"{parts.hostname.lower()}:{port}", parts.path.rstrip("/")


def pay_code(text: str, own_urls: Iterable[str]) -> PayCode:
    """The payment code ``text`` (a QR code's text) is, if it is an address
    under one of ``own_urls`` (the user app's base addresses); else
    NotAPayCode. Its query and fragment are not read."""
    where = _origin(text) if len(text) <= 2000 else None
    if where is not None:
        for own in filter(None, map(_origin, own_urls)):
            if where[:2] == own[:2] and where[2].startswith(own[2] + "/"):
                found = _page(where[2][len(own[2]):])
                if found is not None:
                    return found
    raise NotAPayCode(NOT_A_PAY_CODE)


def _page(path: str) -> PayCode | None:
    """The payment code of a path of the user app (``/pay/chai-point``)."""
    parts = path.split("/")
    if len(parts) != 3 or parts[0]:
        return None
    page, key = parts[1], parts[2]
    if page in ("pay", "to"):
        handle = read_handle(key) if "@" not in key else None
        if handle is None or handle != key:
            return None
        return PayCode(PayCodeKind.SHOP if page == "pay" else PayCodeKind.PERSON, key)
    for prefix, name, kind in (("pr_", "checkout", PayCodeKind.CHECKOUT),
                               ("plink_", "l", PayCodeKind.LINK)):
        if page == name and key.startswith(prefix) and _PUBLIC_ID.fullmatch(key):
            return PayCode(kind, key)
    return None


def read_qr_codes(image: bytes) -> list[str]:
    """The texts of the QR codes in the picture ``image`` (none found: []).
    UnreadableImage if it is not a picture we read, or too many pixels."""
    try:
        # Only the formats a camera or a screenshot makes: no EPS through
        # Ghostscript, nothing exotic parsed from a stranger's upload.
        with Image.open(io.BytesIO(image), formats=("JPEG", "PNG", "WEBP")) as picture:
            if picture.width * picture.height > MAX_IMAGE_PIXELS:
                raise UnreadableImage("That picture is too large: send a smaller photo.")
            picture.draft("L", (READ_SIDE, READ_SIDE))  # (JPEG: decoded smaller)
            grey = picture.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UnreadableImage(UNREADABLE) from None
    grey.thumbnail((READ_SIDE, READ_SIDE))
    found = zxingcpp.read_barcodes(grey, formats=QR_ONLY)
    return [code.text for code in found if code.valid and code.text]
