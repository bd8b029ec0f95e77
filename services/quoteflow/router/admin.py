"""Admin API: read the traffic policy, replace it (bearer token), the kill switch.

A router serves one model: these endpoints read and change that model's section of
the policy document (``model`` in every answer says which).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from quoteflow.http import (
    BODY_ERRORS,
    BadRequest,
    body_schema,
    error_response,
    json_response,
    read_json_body,
)
from quoteflow.traffic import history
from quoteflow.traffic.document import PolicyFile
from quoteflow.traffic.history import Change
from quoteflow.traffic.policy import Policy, PolicyError, PolicyStore, parse_policy

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong bearer token"},
    403: {"description": "admin writes are disabled: no admin token is configured"},
    409: {"description": "the policy comes from a Kubernetes ConfigMap (change it there), "
                         "or names a version no inference process serves"},
}
# Who makes a change and why (percent-encoded UTF-8), kept in the policy's history;
# `quoteflow traffic` sends them (--actor, --reason).
ACTOR_HEADER, REASON_HEADER, CHANGE_HEADER = (
    "x-quoteflow-actor", "x-quoteflow-reason", "x-quoteflow-change")
POLICY_EXAMPLE = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 10,
                  "shadow": {"enabled": True, "sample": 1.0}}


def check_bearer(request: Request, token: str | None, writable: bool) -> None:
    """403 with no token configured, 401 for a wrong one, 409 where the policy is read-only."""
    if token is None:
        raise BadRequest(403, "admin writes are disabled: no admin token is configured")
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    # constant-time comparison: no timing oracle on the token
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(), token.encode()):
        raise BadRequest(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
    if not writable:
        raise BadRequest(409, "this router's policy comes from a Kubernetes ConfigMap; "
                              "change it there (quoteflow traffic ...)")


def change_of(request: Request, default: str) -> Change:
    """Who makes this change and why, from the request's headers (kept in the history)."""
    h = request.headers
    try:
        return Change(change=unquote(h.get(CHANGE_HEADER, default)),
                      actor=unquote(h.get(ACTOR_HEADER, "admin-api (no actor given)")),
                      reason=unquote(h.get(REASON_HEADER, "")))
    except ValidationError as e:
        raise BadRequest(422, f"{ACTOR_HEADER}/{REASON_HEADER}/{CHANGE_HEADER}: " + "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())) from e


def history_response(model: str, source: PolicyFile | None) -> Response:
    if source is None:
        return json_response({"detail": "this router's policy comes from a ConfigMap; its "
                                        "history is kept there (quoteflow traffic history "
                                        "--kube)"}, 409)
    return json_response({"model": model, "history": history.read(
        history.history_path(source.path), model)})


async def policy_of(request: Request) -> Policy:
    """The PUT body as a policy; BadRequest (422 naming what is wrong) if it is not one."""
    body = await read_json_body(request)
    try:
        # JSON only here (the file may be YAML): no YAML parser facing the network
        return parse_policy(orjson.loads(body), "PUT /admin/traffic")
    except orjson.JSONDecodeError as e:
        raise BadRequest(422, f"PUT /admin/traffic: invalid JSON: {e}") from None
    except PolicyError as e:
        raise BadRequest(422, str(e)) from None


def admin_router(store: PolicyStore, token: str | None, source: PolicyFile | None,
                 status: Callable[[], dict[str, Any]],
                 unserved: Callable[[Policy], list[str]] = lambda _: []) -> APIRouter:
    """``source``: the file this router's policy comes from; a change is written there and
    reaches ``store`` by the file's reload (the one route: see ``quoteflow.traffic``).
    None when it is read-only here (a ConfigMap: change it with `quoteflow traffic`).
    ``unserved``: what a policy names that no inference process serves (refused: such a
    policy would turn this router's quotes into 503s)."""
    r = APIRouter(prefix="/admin", tags=["admin"])

    def authorise(request: Request) -> None:
        check_bearer(request, token, writable=source is not None)

    def apply(policy: Policy, by: str, change: Change) -> Response:
        assert source is not None
        try:
            state = source.write(policy, by, change)
        except PolicyError as e:  # the shared file holds other models' sections: keep it
            return json_response({"detail": f"policy not changed: {e}"}, 409)
        return json_response(state.view())

    @r.get("/traffic", summary="The running traffic policy, its generation and upstream health")
    async def get_traffic() -> Response:
        return json_response({**store.state.view(), **status()})

    @r.put("/traffic", summary="Replace this router's model's traffic policy (bearer token)",
           responses={**BODY_ERRORS, **AUTH_ERRORS},
           openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
               "schema": body_schema(Policy), "example": POLICY_EXAMPLE}}}})
    async def put_traffic(request: Request) -> Response:
        try:
            authorise(request)
            change = change_of(request, "put")
            policy = await policy_of(request)
        except BadRequest as e:
            return error_response(e)
        if missing := unserved(policy):
            return json_response({"detail": "policy not changed: " + "; ".join(missing)
                                  + " (deploy the version first)"}, 409)
        return apply(policy, "admin api", change)

    @r.post("/traffic/kill", summary="Kill switch: Green to 0, shadow off (this model)",
            responses=AUTH_ERRORS)
    async def kill(request: Request) -> Response:
        try:
            authorise(request)
            change = change_of(request, "kill")
        except BadRequest as e:
            return error_response(e)
        return apply(store.policy.killed(), "kill switch", change)

    @r.get("/traffic/history", summary="Who changed this model's policy, when and why")
    async def get_history() -> Response:
        return history_response(store.model, source)

    return r
