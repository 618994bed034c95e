"""Tell image, audio and video apart from the first bytes of a file (magic numbers, not extensions)."""
from __future__ import annotations

from medialayer.errors import ErrorCode, MediaError

# ISO BMFF (MP4/MOV/3GP/HEIF) brands that mean audio only; every other MP4-family brand is video,
# and HEIF/AVIF brands are still images.
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def sniff_media_type(head: bytes) -> str:
    """Return "image", "audio" or "video" for the leading bytes of a file, or raise UNSUPPORTED_MEDIA."""
    if not head:
        raise MediaError(ErrorCode.UNSUPPORTED_MEDIA, "empty file")
    if (head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM",
                         b"II*\x00", b"MM\x00*"))
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):
        return "image"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return "image"
        return "audio" if brand in _AUDIO_BRANDS else "video"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head.startswith((b"fLaC", b"OggS", b"ID3", b"FORM", b"#!AMR")):
        return "audio"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:  # MPEG audio / ADTS AAC frame sync
        return "audio"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska / WebM
        return "video"
    if head[:1] == b"\x47" and len(head) > 376 and head[188] == 0x47 and head[376] == 0x47:  # MPEG-TS
        return "video"
    raise MediaError(ErrorCode.UNSUPPORTED_MEDIA, "content is not a recognised image, audio or video format")
