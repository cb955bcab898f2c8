"""QR codes as pictures for the scan-and-pay tests: segno's PNG, a photo-like
JPEG, and a Y4M video file (Chromium's fake camera plays it) of a QR code."""
from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image


def qr_image(text: str, *, scale: int = 8, border: int = 4) -> Image.Image:
    """The QR code of ``text`` as a greyscale Pillow image."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=border)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def qr_png(text: str, **kwargs: int) -> bytes:
    buffer = io.BytesIO()
    qr_image(text, **kwargs).save(buffer, format="PNG")
    return buffer.getvalue()


def qr_jpeg(text: str, *, size: tuple[int, int] = (800, 600), **kwargs: int) -> bytes:
    """A JPEG as a phone's camera frame might be: the code on a grey ground."""
    buffer = io.BytesIO()
    on_ground(qr_image(text, **kwargs), size).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def on_ground(code: Image.Image, size: tuple[int, int]) -> Image.Image:
    ground = Image.new("L", size, 170)
    ground.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    return ground


def write_y4m(path: Path, picture: Image.Image, *, size: tuple[int, int] = (640, 480),
              frames: int = 3, fps: int = 10) -> Path:
    """A Y4M file (a text header, then each frame's raw YUV 4:2:0 planes) of
    ``picture`` centred on a grey ground: the fake camera's video. Grey
    only: the chroma planes are 128 (no colour)."""
    width, height = size
    assert width % 2 == 0 and height % 2 == 0
    luma = on_ground(picture.convert("L"), size).tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path
