"""The model registry: candidates become versions, gates decide promotion, the `champion` alias moves,
and a rollback moves it back.

History: on promotion the new version gets a `riskloop.previous_champion` tag naming the version it
replaced, and that version gets the `previous-champion` alias; rollback follows the tag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskloop_config.settings import MlflowSettings
from riskloop_training.model_contract import (
    PREVIOUS_CHAMPION_ALIAS,
    PREVIOUS_CHAMPION_TAG,
    NoChampion,
    champion_version,
    registry_client,
)

# Metrics where lower is better; every other gate metric is higher-is-better.
LOWER_IS_BETTER = frozenset({"brier"})


class NoPreviousChampion(LookupError):
    """Rollback asked for, but the champion records no version it replaced."""


class GateRejected(Exception):
    """Raised by `require_promotion` when the gates reject a candidate; carries the decision."""

    def __init__(self, decision: GateDecision) -> None:
        self.decision = decision
        super().__init__(decision.reason)


@dataclass(frozen=True)
class GatePolicy:
    """Promotion rules: beat the champion on `primary_metric` by `margin` on the same holdout, and pass
    every absolute floor (for brier, a ceiling)."""

    primary_metric: str = "pr_auc"
    margin: float = 0.01
    floors: Mapping[str, float] = field(default_factory=lambda: {"roc_auc": 0.6})


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger_metrics: Mapping[str, float]
    champion_metrics: Mapping[str, float] | None = None
    champion_version: str | None = None


def _better(metric: str, value: float, reference: float) -> bool:
    return value < reference if metric in LOWER_IS_BETTER else value > reference


def evaluate_gates(
    policy: GatePolicy,
    challenger: Mapping[str, float],
    *,
    champion: Mapping[str, float] | None = None,
    champion_version: str | None = None,
) -> GateDecision:
    """Both checks run so a rejection names every failed rule, e.g.
    'pr_auc 0.41 <= champion 0.44 + margin 0.01; roc_auc 0.55 < floor 0.6'."""
    failures: list[str] = []
    passes: list[str] = []
    for metric, floor in policy.floors.items():
        value = challenger[metric]
        if metric in LOWER_IS_BETTER:
            if value > floor:
                failures.append(f"{metric} {value:.4f} > ceiling {floor:g}")
            else:
                passes.append(f"{metric} {value:.4f} within ceiling {floor:g}")
        elif value < floor:
            failures.append(f"{metric} {value:.4f} < floor {floor:g}")
        else:
            passes.append(f"{metric} {value:.4f} >= floor {floor:g}")
    metric = policy.primary_metric
    if champion is not None:
        value, reference = challenger[metric], champion[metric]
        needed = reference - policy.margin if metric in LOWER_IS_BETTER else reference + policy.margin
        sign = "-" if metric in LOWER_IS_BETTER else "+"
        versus = f"champion v{champion_version} {reference:.4f} {sign} margin {policy.margin:g}"
        if _better(metric, value, needed):
            passes.append(f"{metric} {value:.4f} beats {versus}")
        else:
            relation = ">=" if metric in LOWER_IS_BETTER else "<="
            failures.append(f"{metric} {value:.4f} {relation} {versus}")
    else:
        passes.append("no champion yet: floors only")
    return GateDecision(
        promote=not failures,
        reason="; ".join(failures or passes),
        challenger_metrics=dict(challenger),
        champion_metrics=None if champion is None else dict(champion),
        champion_version=champion_version,
    )


def require_promotion(decision: GateDecision) -> None:
    if not decision.promote:
        raise GateRejected(decision)


def register_candidate(
    settings: MlflowSettings, *, model_uri: str, run_id: str, tags: Mapping[str, str] | None = None, client: Any = None
) -> str:
    """A new version of `settings.model_name` for the logged model; returns its version number."""
    from mlflow.exceptions import MlflowException

    client = client or registry_client(settings)
    try:
        client.create_registered_model(settings.model_name)
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
            raise
    source, model_id = model_uri, None
    if model_uri.startswith("models:/m-"):
        # Resolved here, through this client: MLflow would resolve a `models:/` source through the
        # process-global tracking URI instead.
        model_id = model_uri.removeprefix("models:/")
        source = client.get_logged_model(model_id).artifact_location
    version = client.create_model_version(
        settings.model_name,
        source=source,
        run_id=run_id,
        tags=dict(tags or {}),
        model_id=model_id,
        await_creation_for=0,  # SQL-backed registries create versions READY; polling only adds seconds
    )
    return str(version.version)


@dataclass(frozen=True)
class AliasMove:
    champion: str
    previous: str | None


def promote(settings: MlflowSettings, version: str, *, client: Any = None) -> AliasMove:
    """Move the champion alias to `version`, remembering the version it replaces."""
    client = client or registry_client(settings)
    try:
        previous: str | None = champion_version(settings, client=client)
    except NoChampion:
        previous = None
    if previous == str(version):
        return AliasMove(champion=str(version), previous=None)
    if previous is not None:
        client.set_model_version_tag(settings.model_name, str(version), PREVIOUS_CHAMPION_TAG, previous)
        client.set_registered_model_alias(settings.model_name, PREVIOUS_CHAMPION_ALIAS, previous)
    client.set_registered_model_alias(settings.model_name, settings.champion_alias, str(version))
    return AliasMove(champion=str(version), previous=previous)


def rollback(settings: MlflowSettings, *, client: Any = None) -> AliasMove:
    """Move the champion alias back to the version the current champion replaced. Repeated rollbacks
    walk further back through the recorded history."""
    client = client or registry_client(settings)
    current = champion_version(settings, client=client)
    tags = client.get_model_version(settings.model_name, current).tags or {}
    previous = tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous:
        raise NoPreviousChampion(f"champion v{current} of {settings.model_name!r} records no previous champion")
    client.set_registered_model_alias(settings.model_name, settings.champion_alias, previous)
    client.set_model_version_tag(settings.model_name, current, "riskloop.rolled_back", "true")
    before_previous = (client.get_model_version(settings.model_name, previous).tags or {}).get(PREVIOUS_CHAMPION_TAG)
    if before_previous:
        client.set_registered_model_alias(settings.model_name, PREVIOUS_CHAMPION_ALIAS, before_previous)
    elif PREVIOUS_CHAMPION_ALIAS in (client.get_registered_model(settings.model_name).aliases or {}):
        client.delete_registered_model_alias(settings.model_name, PREVIOUS_CHAMPION_ALIAS)
    return AliasMove(champion=previous, previous=current)
