"""The fraud scoring service: `riskloop-fraud-api serve` (= `bentoml serve riskloop_fraud_api.service:FraudService`).

Two workers: scoring is CPU-bound Python around XGBoost, so a second process doubles throughput; a
reload reaches every worker through riskloop_scoring's VersionBoard (see `FraudScoring`). More workers:
BentoML's `services.riskloop-fraud-api.workers` configuration.
"""

from __future__ import annotations

import gc
import hmac
import os
from typing import Annotated

import bentoml
from pydantic import Field
from starlette.responses import JSONResponse  # pants: no-infer-dep (comes with bentoml)

from riskloop_config.settings import load_settings
from riskloop_fraud_api.schemas import Prediction, PredictResponse, ReloadResponse, Transaction
from riskloop_http import ValidationStatus
from riskloop_scoring.champion import NoChampion
from riskloop_scoring.metrics import model_age_text
from riskloop_scoring.rollout import server_board_path
from riskloop_scoring.runtime import FraudScoring, ReloadFailed, WorkersBehind
from riskloop_scoring.scorer import NoModelLoaded, Score


def _error(status: int, message: str, detail: object = None) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail}, status_code=status)


def _prediction(score: Score, published: bool) -> Prediction:
    # Field by field: dataclasses.asdict deep-copies every reason, ~25 µs of a request's CPU.
    return Prediction(
        transaction_id=score.transaction_id,
        fraud_score=score.fraud_score,
        is_fraud=score.is_fraud,
        model_version=score.model_version,
        reasons=[{"feature": r.feature, "value": r.value, "contribution": r.contribution} for r in score.reasons],
        missing_features=list(score.missing_features),
        degraded=score.degraded,
        published=published,
    )


@bentoml.service(
    name="riskloop-fraud-api",
    traffic={"timeout": 60},
    workers=2,
    # A log line per request costs more than scoring it; /metrics carries the request counts and latencies.
    logging={"access": {"enabled": False}},
    # BentoML's OpenTelemetry middleware makes five spans per request even when none are sampled or exported
    # (~0.3 ms of CPU per /predict). To trace /predict, set services.riskloop-fraud-api.tracing.excluded_urls
    # in the BentoML configuration (it overrides this default).
    tracing={"excluded_urls": ["/predict"]},
)
class FraudService:
    def __init__(self) -> None:
        # MLflow retries an unreachable server for minutes by default; a reload must answer within the
        # request timeout (and then keep the old model), so bound it unless the deployment chose otherwise.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # progress bars in server logs
        self.settings = load_settings()
        # One board per server: workers are children of the one serving process, so its pid names the server.
        self.scoring = FraudScoring(self.settings, board_path=server_board_path(os.getppid()))
        # Everything loaded so far (bentoml, mlflow, xgboost, the model) lives as long as the worker: moved out
        # of the collector's generations, a full collection scans only what requests allocate instead of that
        # whole heap (a likely cause of the rare 100+ ms stalls seen at 200 req/s without it).
        gc.freeze()

    def __is_ready__(self) -> bool:
        return self.scoring.ready

    async def __metrics__(self, content: str) -> str:
        return content + model_age_text(self.scoring.model_age_seconds())

    # async: scored on the event loop, not handed to BentoML's one-thread pool and back (a thread hop and a
    # GIL handover per request). Scoring blocks the loop for its ~0.5 ms, one Redis pipeline on a socket with a
    # redis_timeout_seconds bound; with one thread the pool serialised requests just the same.
    @bentoml.api(route="/predict")
    async def predict(
        self,
        transactions: Annotated[
            list[Transaction], Field(min_length=1, description="Transactions to score, at most max_batch_size.")
        ],
    ) -> PredictResponse:
        """Score a batch of transactions: fraud score, decision, reasons and missing features for each."""
        limit = self.settings.fraud_api.max_batch_size
        if len(transactions) > limit:
            loc = ["transactions"]
            detail = [{"loc": loc, "msg": f"max {limit}"}]
            return _error(422, f"transactions: at most {limit} per call", detail)  # type: ignore[return-value]
        try:
            batch = self.scoring.predict([t.model_dump() for t in transactions])
        except NoModelLoaded:
            reason = self.scoring.last_error or "no champion loaded yet"
            return _error(503, f"no fraud model is loaded: {reason}")  # type: ignore[return-value]
        return PredictResponse(predictions=[_prediction(score, batch.published) for score in batch.scores])

    @bentoml.api(route="/admin/reload")
    def reload(self, ctx: bentoml.Context) -> ReloadResponse:
        """Serve the current MLflow champion in every worker; answers once all of them serve it.

        Needs `Authorization: Bearer <admin token>`."""
        expected = f"Bearer {self.settings.fraud_api.admin_token.get_secret_value()}"
        given = ctx.request.headers.get("authorization", "")
        # With a Context parameter BentoML takes the status from ctx.response, not from a returned Response.
        if not hmac.compare_digest(given.encode(), expected.encode()):
            ctx.response.status_code = 401
            return _error(401, "missing or wrong admin bearer token")  # type: ignore[return-value]
        try:
            result = self.scoring.reload()
        except NoChampion as exc:
            ctx.response.status_code = 409
            return _error(409, f"reload failed, the previous model still serves: {exc}")  # type: ignore[return-value]
        except ReloadFailed as exc:
            ctx.response.status_code = 502
            return _error(502, f"reload failed, the previous model still serves: {exc}")  # type: ignore[return-value]
        except WorkersBehind as exc:
            ctx.response.status_code = 502
            return _error(502, f"reload incomplete: {exc}")  # type: ignore[return-value]
        return ReloadResponse(
            status="reloaded", version=result.version, previous_version=result.previous_version, workers=result.workers
        )


FraudService.add_asgi_middleware(ValidationStatus)
