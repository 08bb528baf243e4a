"""Where the store lives (`--root`, else `$SYNTH_ROOT`, else `./data`) and where its local state goes."""

import hashlib
import os
from pathlib import Path


def default_root() -> str:
    return os.environ.get("SYNTH_ROOT") or "data"


def state_dir(root: str | Path) -> Path:
    """Local state of a store (lineage DuckDB, LLM cache, Dagster home): the root itself when it is
    local; for `s3://` roots `$SYNTH_STATE_DIR` (default `~/.cache/synth`)/s3/{bucket}-{hash}."""
    text = str(root)
    if not text.startswith("s3://"):
        return Path(text).resolve()
    base = Path(os.environ.get("SYNTH_STATE_DIR") or Path.home() / ".cache" / "synth")
    bucket = text[5:].split("/", 1)[0]
    return base / "s3" / f"{bucket}-{hashlib.sha256(text.rstrip('/').encode()).hexdigest()[:8]}"


LINEAGE_URL_PREFIX = "ducklake:postgres:"


def lineage_url() -> str | None:
    """The shared lineage named by `$SYNTH_LINEAGE`: a `ducklake:postgres:<libpq connection string>`
    URL (its new lake's data path in `$SYNTH_LINEAGE_DATA`), or None when unset (a local file)."""
    url = os.environ.get("SYNTH_LINEAGE", "").strip()
    if not url:
        return None
    if not url.startswith(LINEAGE_URL_PREFIX):
        raise ValueError(f"SYNTH_LINEAGE must be {LINEAGE_URL_PREFIX}<libpq connection string>, e.g. "
                         f"'{LINEAGE_URL_PREFIX}dbname=lake host=db.internal user=synth'; got one starting "
                         f"{url.split(':', 1)[0]!r}")
    return url


def lineage_file(root: str | Path) -> Path:
    """The local lineage file: `$SYNTH_LINEAGE_DB`, else `lineage.duckdb` in the store's state dir."""
    return Path(os.environ.get("SYNTH_LINEAGE_DB") or state_dir(root) / "lineage.duckdb")


def lineage_path(root: str | Path) -> Path | str:
    """What `Lineage(...)` opens for a store: the `$SYNTH_LINEAGE` URL when set, else `lineage_file`."""
    return lineage_url() or lineage_file(root)
