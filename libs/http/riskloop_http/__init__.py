"""HTTP glue the Riskloop services share on top of BentoML."""

from riskloop_http.validation import ValidationStatus

__all__ = ["ValidationStatus"]
