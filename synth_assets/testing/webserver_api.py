"""A small client for the Dagster webserver's GraphQL API: what the UI does, callable from tests.

The GraphQL documents follow the schema of dagster-graphql 1.13 (`dagster_graphql/schema/`); the
backfill is launched with the same `launchPartitionBackfill` parameters as the webserver's launch
dialog for assets (`assetSelection` + `partitionNames`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

TERMINAL_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
UNFINISHED_BACKFILL_STATUSES = frozenset({"REQUESTED", "CANCELING", "FAILING"})
BACKFILL_ID_TAG = "dagster/backfill"

WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
    ... on PythonError { message }
  }
}
"""

LAUNCH_PARTITION_BACKFILL_MUTATION = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on Error { message }
  }
}
"""

RUNS_QUERY = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { runId status jobName tags { key value } } }
    ... on Error { message }
  }
}
"""

BACKFILL_QUERY = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill { id status numPartitions error { message } }
    ... on Error { message }
  }
}
"""

RUN_ERRORS_QUERY = """
query RunErrors($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events { __typename ... on MessageEvent { stepKey } ... on ErrorEvent { error { message errorChain { error { message } } } } }
    }
    ... on Error { message }
  }
}
"""

PARTITION_KEYS_QUERY = """
query PartitionKeys($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode { partitionKeys }
    ... on Error { message }
  }
}
"""

MATERIALIZATIONS_QUERY = """
query Materializations($assetKey: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $assetKey) {
    __typename
    ... on Asset { assetMaterializations(partitions: $partitions) { runId partition } }
    ... on Error { message }
  }
}
"""


class WebserverError(RuntimeError):
    """A GraphQL call failed or answered an error type, or a wait ran out of time."""


@dataclass(frozen=True)
class RunInfo:
    """One run as the Runs page shows it."""

    run_id: str
    status: str
    job_name: str
    tags: dict[str, str]

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_RUN_STATUSES


@dataclass(frozen=True)
class BackfillResult:
    """A backfill once the daemon is done with it: its final status, error (if any) and runs."""

    backfill_id: str
    status: str
    error: str | None
    runs: list[RunInfo]


def asset_key_input(key: str | Sequence[str]) -> dict[str, list[str]]:
    """`"rephrase/source"` or `["rephrase", "source"]` as a GraphQL `AssetKeyInput`."""
    return {"path": key.split("/") if isinstance(key, str) else list(key)}


def _unwrap(result: dict[str, Any], expected: str) -> dict[str, Any]:
    """The member of a GraphQL union result when it is `expected`, else `WebserverError` with its message."""
    if result["__typename"] != expected:
        raise WebserverError(f"{result['__typename']}: {result.get('message', result)}")
    return result


class WebserverAPI:
    """GraphQL calls against a Dagster webserver at `url` (e.g. `http://127.0.0.1:3000`)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def describe_failure(self, message: str) -> str:
        """The message a wait that ran out of time raises (subclasses add what they know, e.g. a log)."""
        return message

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 60.0) -> dict[str, Any]:
        """POST a GraphQL document to the webserver; its `data`, or `WebserverError` naming the errors."""
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            raise WebserverError(f"GraphQL answered HTTP {response.status_code}: {response.text[:500]}") from None
        if body.get("errors") or body.get("data") is None:
            messages = "; ".join(e.get("message", str(e)) for e in body.get("errors") or [])
            raise WebserverError(f"GraphQL error (HTTP {response.status_code}): {messages or body}")
        return body["data"]

    def locations(self) -> list[dict[str, Any]]:
        """Code locations: `{"name", "loaded", "error"}` (error: the load error's message, else None)."""
        workspace = _unwrap(self.graphql(WORKSPACE_QUERY)["workspaceOrError"], "Workspace")
        return [{
            "name": entry["name"],
            "loaded": entry["loadStatus"] == "LOADED",
            "error": (entry["locationOrLoadError"] or {}).get("message"),
        } for entry in workspace["locationEntries"]]

    def partition_keys(self, asset: str | Sequence[str]) -> list[str]:
        """An asset's partition keys as the UI lists them (multi-dimensional: `Copa|7c6e24...`)."""
        data = self.graphql(PARTITION_KEYS_QUERY, {"assetKey": asset_key_input(asset)})
        return _unwrap(data["assetNodeOrError"], "AssetNode")["partitionKeys"]

    def materializations(self, asset: str | Sequence[str], partitions: Sequence[str] | None = None) -> list[tuple[str, str | None]]:
        """(run id, partition) of an asset's materializations, newest first, optionally of some partitions only."""
        variables = {"assetKey": asset_key_input(asset), "partitions": list(partitions) if partitions is not None else None}
        events = _unwrap(self.graphql(MATERIALIZATIONS_QUERY, variables)["assetOrError"], "Asset")["assetMaterializations"]
        return [(e["runId"], e["partition"]) for e in events]

    def launch_partition_backfill(
        self,
        assets: Sequence[str | Sequence[str]],
        partition_names: Sequence[str],
        tags: Mapping[str, str] | None = None,
        title: str | None = None,
    ) -> str:
        """Launch an asset backfill as the webserver's launch dialog does; return the backfill id."""
        params: dict[str, Any] = {
            "assetSelection": [asset_key_input(a) for a in assets],
            "partitionNames": list(partition_names),
            "fromFailure": False,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        if title:
            params["title"] = title
        data = self.graphql(LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": params})
        return _unwrap(data["launchPartitionBackfill"], "LaunchBackfillSuccess")["backfillId"]

    def runs(self, tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[RunInfo]:
        """Runs (newest first), optionally only those carrying all of `tags`."""
        run_filter = {"tags": [{"key": k, "value": v} for k, v in tags.items()]} if tags else None
        runs = _unwrap(self.graphql(RUNS_QUERY, {"filter": run_filter, "limit": limit})["runsOrError"], "Runs")["results"]
        return [RunInfo(r["runId"], r["status"], r["jobName"], {t["key"]: t["value"] for t in r["tags"]}) for r in runs]

    def run_errors(self, run_id: str) -> list[str]:
        """A run's errors, each as `step: message <- cause <- ...` (`run: ...` for run-level ones)."""
        events = _unwrap(self.graphql(RUN_ERRORS_QUERY, {"runId": run_id})["logsForRun"], "EventConnection")["events"]
        return [
            f"{e.get('stepKey') or 'run'}: "
            + " <- ".join(m.strip() for m in [e["error"]["message"], *(link["error"]["message"] for link in e["error"]["errorChain"])])
            for e in events if e.get("error")
        ]

    def backfill_status(self, backfill_id: str) -> tuple[str, str | None]:
        """(status, error message or None) of a backfill, e.g. ("REQUESTED", None)."""
        data = self.graphql(BACKFILL_QUERY, {"backfillId": backfill_id})
        backfill = _unwrap(data["partitionBackfillOrError"], "PartitionBackfill")
        return backfill["status"], (backfill["error"] or {}).get("message")

    def wait_for_backfill(self, backfill_id: str, timeout: float = 600.0, poll: float = 2.0) -> BackfillResult:
        """Wait until the daemon has finished a backfill and each of its runs has ended; raise after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            status, error = self.backfill_status(backfill_id)
            runs = self.runs(tags={BACKFILL_ID_TAG: backfill_id})
            if status not in UNFINISHED_BACKFILL_STATUSES and all(r.finished for r in runs):
                return BackfillResult(backfill_id, status, error, runs)
            if time.monotonic() > deadline:
                states = ", ".join(f"{r.run_id[:8]}={r.status}" for r in runs) or "no runs"
                raise WebserverError(self.describe_failure(f"backfill {backfill_id} not finished after {timeout:.0f}s: {status} ({states})"))
            time.sleep(poll)
