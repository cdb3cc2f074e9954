"""Where a warehouse's catalog and data live: the folder's own SQLite file, or a shared PostgreSQL catalog.

The warehouse folder is always local to one machine: it holds the runs' staging and the local writer
lock. By default it also holds the catalog (``catalog.sqlite``) and the Parquet files (``data/``).
Bound to a PostgreSQL catalog (``--catalog postgresql://USER@HOST:PORT/DB``), the folder instead
keeps ``warehouse.json`` naming the catalog and the data path (``--data-path``: a folder every machine
sees at the same path, or S3-compatible object storage, ``s3://bucket/prefix``; default: the folder's
``data/``), and every machine that writes or reads the shared warehouse has a folder of its own bound
to the same catalog. Object storage is reached with DuckDB's httpfs extension and the usual ``AWS_*``
variables (``AWS_ENDPOINT_URL`` for a server other than AWS). The binding is written once and
checked at every later use, so a folder never silently switches warehouses.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SETTINGS_FILE = "warehouse.json"
SQLITE_CATALOG = "catalog.sqlite"
_POSTGRES_SCHEMES = ("postgresql", "postgres")
OBJECT_STORE_PREFIX = "s3://"


class CatalogError(ValueError):
    """A catalog URL or data path that cannot be used, or one that differs from the folder's binding."""


@dataclass(frozen=True)
class CatalogSettings:
    """A folder's binding: ``catalog`` is a PostgreSQL URL (None: the folder's SQLite file), ``data_path``
    an absolute folder or an ``s3://bucket/prefix`` (None: the folder's ``data/``)."""

    catalog: str | None = None
    data_path: str | None = None

    @property
    def shared(self) -> bool:
        return self.catalog is not None


def check_catalog_url(url: str) -> str:
    """``url`` if it names a PostgreSQL database as ``postgresql://USER@HOST:PORT/DB``; CatalogError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in _POSTGRES_SCHEMES:
        raise CatalogError(f"--catalog must be a postgresql://USER@HOST:PORT/DB URL, not {url!r}")
    if not parts.hostname or not parts.path.strip("/"):
        raise CatalogError(f"--catalog {url!r} needs a host and a database: postgresql://USER@HOST:PORT/DB")
    try:
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        raise CatalogError(f"--catalog {url!r} has a port that is not a number") from None
    return url


def is_object_store(location: str) -> bool:
    return location.startswith(OBJECT_STORE_PREFIX)


def _data_location(data_path: str | Path) -> str:
    text = str(data_path)
    if is_object_store(text):
        if not text[len(OBJECT_STORE_PREFIX):].strip("/"):
            raise CatalogError(f"--data-path {text!r} needs a bucket: s3://BUCKET/PREFIX")
        return text.rstrip("/")
    return str(Path(text).resolve())


def s3_secret_sql(env: Mapping[str, str] = os.environ) -> str:
    """The DuckDB secret for object storage from the usual AWS variables (credentials, region, and
    ``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server)."""
    options = ["TYPE s3"]
    quoted = {name: "'" + value.replace("'", "''") + "'" for name, value in env.items() if name.startswith("AWS_")}
    if "AWS_ACCESS_KEY_ID" in quoted and "AWS_SECRET_ACCESS_KEY" in quoted:
        options += [f"KEY_ID {quoted['AWS_ACCESS_KEY_ID']}", f"SECRET {quoted['AWS_SECRET_ACCESS_KEY']}"]
        if "AWS_SESSION_TOKEN" in quoted:
            options.append(f"SESSION_TOKEN {quoted['AWS_SESSION_TOKEN']}")
    region = quoted.get("AWS_REGION") or quoted.get("AWS_DEFAULT_REGION")
    if region:
        options.append(f"REGION {region}")
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if not parts.netloc:
            raise CatalogError(f"AWS_ENDPOINT_URL {endpoint!r} is not a URL such as http://HOST:PORT")
        options += [f"ENDPOINT '{parts.netloc}'", "URL_STYLE 'path'", f"USE_SSL {str(parts.scheme == 'https').lower()}"]
    return f"CREATE OR REPLACE SECRET akhbar_s3 ({', '.join(options)})"


def read_settings(root: Path) -> CatalogSettings:
    """The folder's binding; the default (SQLite in the folder) when it has none."""
    path = root / SETTINGS_FILE
    if not path.exists():
        return CatalogSettings()
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return CatalogSettings(catalog=stored.get("catalog"), data_path=stored.get("data_path"))
    except (json.JSONDecodeError, AttributeError) as error:
        raise CatalogError(f"{path} is not a warehouse binding ({error}); fix or remove it") from None


def bind(root: Path, catalog: str | None, data_path: str | Path | None) -> CatalogSettings:
    """Bind the folder at ``root`` to ``catalog`` and ``data_path`` (when given) and return its binding.

    The first binding is written to ``warehouse.json``; later ones must name the same catalog and data
    path, and a folder that already holds a SQLite catalog cannot be bound to another one.
    """
    current = read_settings(root)
    if catalog is None and data_path is None:
        return current
    wanted = CatalogSettings(
        catalog=check_catalog_url(catalog) if catalog is not None else current.catalog,
        data_path=_data_location(data_path) if data_path is not None else current.data_path,
    )
    if wanted == current:
        return current
    if (root / SETTINGS_FILE).exists():
        raise CatalogError(
            f"warehouse folder {root} is bound to catalog {current.catalog or 'sqlite (in the folder)'} with data "
            f"at {current.data_path or root / 'data'}; use another folder for "
            f"{wanted.catalog or 'sqlite'} with data at {wanted.data_path or root / 'data'}"
        )
    if (root / SQLITE_CATALOG).exists():
        raise CatalogError(f"warehouse folder {root} already holds a SQLite catalog; use another folder for {catalog}")
    if wanted.data_path is not None and wanted.catalog is None:
        raise CatalogError("--data-path needs --catalog: a SQLite catalog keeps its data in the warehouse folder")
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f"{SETTINGS_FILE}.partial"
    partial.write_text(json.dumps({"catalog": wanted.catalog, "data_path": wanted.data_path}, indent=2) + "\n")
    partial.replace(root / SETTINGS_FILE)
    return wanted


def postgres_catalog_exists(url: str) -> bool:
    """Whether the PostgreSQL database at ``url`` holds a DuckLake catalog yet (a first writer makes it)."""
    return bool(asyncio.run(_fetch(url, "SELECT to_regclass('ducklake_metadata') IS NOT NULL")))


async def _fetch(url: str, sql: str) -> object:
    import asyncpg  # only a PostgreSQL catalog needs it

    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()
