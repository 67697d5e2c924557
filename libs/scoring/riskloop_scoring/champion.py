"""Loading a registered version into a servable snapshot, through libs/training's model contract.

Every way a load can fail becomes `ModelLoadFailed` with the reason (or `NoChampion` when the alias
points nowhere), so the caller keeps its current model and can report exactly why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from riskloop_config.settings import MlflowSettings
from riskloop_scoring.scorer import FeatureReader, ModelIncompatible, Snapshot, prepare
from riskloop_training.model_contract import NoChampion, champion_version, load_model_version, registry_client

__all__ = ["ModelLoadFailed", "NoChampion", "current_champion", "load_snapshot"]


class ModelLoadFailed(RuntimeError):
    """A version could not be made ready to serve; the message says which version and why."""


def current_champion(settings: MlflowSettings) -> str:
    """The version the champion alias points at now; `NoChampion` if none, `ModelLoadFailed` if MLflow fails."""
    try:
        return champion_version(settings)
    except NoChampion:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreachable registry is a load failure, reported as such
        raise ModelLoadFailed(f"cannot ask MLflow for the champion: {exc}") from None


def load_snapshot(settings: MlflowSettings, reader: FeatureReader, version: str | None = None) -> Snapshot:
    """`version` (default: the current champion) loaded, checked and ready to swap in."""
    version = version or current_champion(settings)
    try:
        client = registry_client(settings)
        model = load_model_version(settings, version, client=client)
        details = client.get_model_version(settings.model_name, version)
    except Exception as exc:  # noqa: BLE001 - whatever breaks (artifact, metadata, network) keeps the old model
        raise ModelLoadFailed(f"cannot load version {version} of {settings.model_name!r}: {exc}") from None
    registered = None
    if details.creation_timestamp:
        registered = datetime.fromtimestamp(details.creation_timestamp / 1000, tz=UTC)
    try:
        return prepare(model, reader, registered_at=registered)
    except ModelIncompatible as exc:
        raise ModelLoadFailed(str(exc)) from None
