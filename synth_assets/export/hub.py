"""Uploading an export folder to the Hugging Face Hub (needs network and a token: `HF_TOKEN` or `hf auth login`).

Not exercised by the tests: the test machines have no network.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool | None = None) -> str:
    """Create the dataset repository if needed, upload the folder as one commit; return the commit URL."""
    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset",
                               commit_message=f"synth export of {Path(folder).name}")
    return commit.commit_url
