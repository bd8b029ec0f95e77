"""Templates (Jinja2, autoescaped: every value a user typed is escaped) and the words
the pages use for statuses and probabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATUS_WORDS = {
    "pending": "Saved, waiting for triage",
    "approved": "Approved",
    "fraud_review": "Held for fraud review",
    "needs_documents": "Documents needed",
    "rejected": "Rejected",
    "invalid": "Refused by triage",
}
ACTION_WORDS = {"filed": "Filed", "triaged": "Triaged", "documents_added": "Documents added",
                "approve": "Approved by reviewer", "reject": "Rejected by reviewer",
                "request_documents": "Documents requested by reviewer",
                "refused": "Refused by triage"}
CLASS_WORDS = {"valid": "valid", "fraud": "fraudulent", "review": "incomplete"}


def likelihood(p: float) -> str:
    """A probability in words an agent reads at a glance."""
    for bound, words in ((0.05, "very unlikely"), (0.25, "unlikely"), (0.5, "possible"),
                         (0.75, "likely"), (0.95, "very likely")):
        if p < bound:
            return words
    return "almost certain"


_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_env.globals.update(status_words=STATUS_WORDS, action_words=ACTION_WORDS,
                    class_words=CLASS_WORDS, likelihood=likelihood)


def render(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", None)
    context.setdefault("csrf", context["user"].csrf if context["user"] else "")
    html = _env.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=code)
