"""Storage behind a URL: a local folder, or any fsspec URL (``s3://``, ``gs://``, ``memory://``).

The one place that opens one and that says what its failures are. :func:`filesystem` checks
the URL first (a bucket name S3 would refuse is the user's mistake: ConfigError, exit 2,
before any request), remembers the object store's credentials so that no error or log line
can print them (:mod:`modelward.redact`), and returns fsspec's filesystem and root path.
:func:`failure` turns what a backend raised (each has its own errors: botocore's for s3fs,
OSError for local files) into the error tree's: StorageError (exit 3, HTTP 503) naming the
storage and what to check, never a traceback or a credential.

Where the object store is and who is asking are the AWS clients' own settings, read by
s3fs (botocore) from the environment or ``~/.aws``: ``AWS_ENDPOINT_URL`` for MinIO, Ceph or
moto (any S3-compatible server), ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` or
``AWS_PROFILE`` (or an instance role), ``AWS_DEFAULT_REGION``, ``AWS_MAX_ATTEMPTS``; other
fsspec options through fsspec's own configuration (``FSSPEC_S3_<OPTION>`` variables).
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from modelward.errors import ConfigError, ModelwardError, StorageError, first_line
from modelward.redact import redact, remember

__all__ = ["backend_errors", "check_url", "failure", "filesystem", "local_root"]

#: S3's bucket names: 3-63 lowercase letters, digits, dots and hyphens, beginning and
#: ending with a letter or digit (no ``..``, not an IP address).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")
_S3 = ("s3", "s3a")
#: Variables of the AWS clients and of fsspec's s3 configuration that hold secrets (masked
#: wherever text leaves the process).
_SECRETS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "FSSPEC_S3_KEY", "FSSPEC_S3_SECRET", "FSSPEC_S3_TOKEN",
)  # fmt: skip
#: Where an S3-compatible endpoint can be set, in the order s3fs/botocore honour them.
_ENDPOINTS = ("FSSPEC_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
#: Words of a backend's error that mean: the credentials were refused.
_REFUSED = (
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoCredentials",
    "Unable to locate credentials", "Forbidden", "ExpiredToken",
)  # fmt: skip


def check_url(url: str, setting: str) -> None:
    """ConfigError unless ``url`` (the value of ``setting``) names storage an fsspec
    backend could reach: for ``s3://`` a valid bucket name."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in _S3 or not _:
        return
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise ConfigError(
            f"{setting} {redact(url)!r} names no bucket; use s3://BUCKET or s3://BUCKET/PREFIX",
            field=setting,
        )
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP.fullmatch(bucket):
        raise ConfigError(
            f"{setting} {redact(url)!r}: {bucket!r} is not an S3 bucket name (3-63 lowercase "
            "letters, digits, dots and hyphens, beginning and ending with a letter or digit); "
            f"fix {setting}",
            field=setting,
        )


def local_root(url: str) -> str | None:
    """The absolute folder a local ``url`` (a path, or ``file://…``) names, as fsspec's
    local filesystem spells it (``~`` expanded, forward slashes); None for a remote URL."""
    text = url.removeprefix("file://") if url.startswith("file://") else url
    if "://" in text or "::" in text:
        return None
    return os.path.abspath(os.path.expanduser(text)).replace(os.sep, "/")


def filesystem(url: str, setting: str) -> tuple[Any, str]:
    """fsspec's filesystem and root path for ``url`` (a folder, ``file://…`` or any fsspec
    URL) given as ``setting`` (``MODELWARD_LOGS``, ``--to``, …). ConfigError (exit 2) for a
    URL no backend takes."""
    import fsspec

    text = url.removeprefix("file://") if url.startswith("file://") else url
    check_url(text, setting)
    for name in _SECRETS:
        remember(os.environ.get(name))
    try:
        fs, root = fsspec.core.url_to_fs(text)
    except ImportError as exc:
        scheme = text.split("://", 1)[0]
        extra = " (pip install 'modelward[s3]')" if scheme in _S3 else ""
        raise ConfigError(
            f"{setting} {redact(url)!r} needs fsspec's backend for {scheme}://, which is not "
            f"installed{extra}: {_first_line(exc)}",
            field=setting,
        ) from exc
    except ValueError as exc:
        raise ConfigError(
            f"{setting} {redact(url)!r} is not a folder or a URL modelward can use "
            f"({_first_line(exc)}); give a folder or an fsspec URL such as s3://BUCKET/PREFIX",
            field=setting,
        ) from exc
    return fs, str(root)


@functools.cache
def backend_errors() -> tuple[type[BaseException], ...]:
    """What a storage backend raises when storage fails: OSError (fsspec's own
    translation), ValueError, and botocore's errors (s3fs passes some through: an
    unreachable endpoint, a refused signature)."""
    found: list[type[BaseException]] = [OSError, ValueError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        pass
    else:
        found += [BotoCoreError, ClientError]
    return tuple(found)


def failure(exc: BaseException, what: str) -> ModelwardError:
    """The error to raise for ``exc``, raised by the backend of ``what`` (``"the
    prediction log at s3://b/logs"``): a StorageError saying what to check."""
    if isinstance(exc, ModelwardError):
        return exc
    why = _first_line(exc)
    if type(exc).__name__ == "ParamValidationError":  # botocore refused a name of ours
        return ConfigError(f"{what}: {why}; check the URL")
    if isinstance(exc, PermissionError) or any(word in why for word in _REFUSED):
        return StorageError(
            f"{what} refused access ({why}); check the object store's credentials "
            "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        )
    if isinstance(exc, ConnectionError | TimeoutError) or any(
        word in why.lower() for word in ("connect", "timeout", "timed out")
    ):
        named = [(name, os.environ[name]) for name in _ENDPOINTS if os.environ.get(name)]
        where = f"{named[0][0]} ({named[0][1]})" if named else "the network"
        return StorageError(
            f"cannot reach {what} ({why}); check that the object store is up and that "
            f"{where} leads to it"
        )
    return StorageError(f"cannot use {what}: {why}")


def _first_line(exc: BaseException) -> str:
    return redact(first_line(exc))
