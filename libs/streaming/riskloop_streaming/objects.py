"""The bucket the stream apps read and write: pyarrow's S3 client, or a local folder standing in for it."""

from __future__ import annotations

import pyarrow.fs as pafs

from riskloop_config.settings import S3Settings


class InvalidObjectStore(ValueError):
    """The S3 settings cannot reach a bucket (e.g. an endpoint URL without a scheme)."""


def s3_filesystem(s3: S3Settings) -> pafs.S3FileSystem:
    """pyarrow's S3 client for the settings: an explicit endpoint (MinIO, moto) over its scheme, or AWS."""
    scheme, endpoint = "https", None
    if s3.endpoint_url is not None:
        scheme, _, endpoint = s3.endpoint_url.partition("://")
        if not endpoint:
            raise InvalidObjectStore(f"endpoint_url must look like http://host:port, got {s3.endpoint_url!r}")
    return pafs.S3FileSystem(
        access_key=s3.access_key_id.get_secret_value() if s3.access_key_id else None,
        secret_key=s3.secret_access_key.get_secret_value() if s3.secret_access_key else None,
        region=s3.region,
        endpoint_override=endpoint,
        scheme=scheme,
    )


def bucket_filesystem(s3: S3Settings, bucket: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding `bucket` and the bucket's base path on it."""
    if s3.backend == "local":
        return pafs.LocalFileSystem(), s3.bucket_uri(bucket)
    return s3_filesystem(s3), bucket
