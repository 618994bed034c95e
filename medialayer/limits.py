"""Limits applied while fetching and decoding media. Every one is an option with a sane default."""
from __future__ import annotations

import argparse
import dataclasses

MiB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    max_image_bytes: int = 50 * MiB
    max_audio_bytes: int = 200 * MiB
    max_video_bytes: int = 2048 * MiB
    max_image_pixels: int = 100_000_000  # width * height; a decompression bomb is refused from the header
    max_audio_seconds: float = 3 * 3600.0
    max_video_seconds: float = 3 * 3600.0
    connect_timeout: float = 10.0  # seconds to establish a connection
    read_timeout: float = 30.0  # seconds of silence allowed between two reads
    fetch_deadline: float = 300.0  # seconds for a whole fetch, redirects included
    max_redirects: int = 5
    max_url_length: int = 8192
    allow_private_networks: bool = False  # fetch from loopback/private addresses (never link-local: see below)
    allow_link_local_addresses: bool = False  # DANGEROUS: cloud metadata services (instance credentials) live there
    allowed_schemes: str = "http,https,file,gs,s3"  # comma-separated; "file" covers local paths too
    max_retries: int = 3  # retries of a transient failure (connection error, timeout, 429, 5xx)
    retry_backoff: float = 0.5  # seconds before the first retry; doubles each time, with jitter
    retry_backoff_max: float = 30.0  # longest wait between retries; a longer Retry-After is not waited for
    isolate_decoders: bool = True  # decode in child processes: a crash or hang costs one record
    decode_timeout: float = 300.0  # seconds to decode and fingerprint one file (with isolate_decoders)
    max_row_bytes: int = 1 * MiB  # a longer input row is INVALID_INPUT, never parsed

    def max_bytes(self, media_type: str | None) -> int:
        """The byte cap for a media type; the largest one while the type is not known yet."""
        caps = {"image": self.max_image_bytes, "audio": self.max_audio_bytes, "video": self.max_video_bytes}
        return caps[media_type] if media_type else max(caps.values())

    def schemes(self) -> frozenset:
        return frozenset(s.strip().lower() for s in self.allowed_schemes.split(",") if s.strip())


DEFAULT_LIMITS = Limits()


def add_limit_arguments(parser, defaults: "Limits | None" = None) -> None:
    """Add one ``--<field>`` option per limit to an argparse parser (used by run_local and the service),
    defaulting to ``defaults`` (the service's are stricter than the batch job's)."""
    defaults = defaults or DEFAULT_LIMITS
    for field in dataclasses.fields(Limits):
        flags = ["--" + field.name.replace("_", "-"), "--" + field.name]  # both spellings, as Beam accepts
        default = getattr(defaults, field.name)
        if field.type == "bool":  # --flag and --no-flag
            parser.add_argument(*flags, dest=field.name, action=argparse.BooleanOptionalAction,
                                default=default, help=f"default: {default}")
        else:
            kind = {"int": int, "float": float, "str": str}[field.type]
            parser.add_argument(*flags, dest=field.name, type=kind, default=default, help=f"default: {default}")


def limits_from_namespace(namespace) -> Limits:
    return Limits(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(Limits)})
