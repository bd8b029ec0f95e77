"""The reviewers' queue and decisions, and documents served as attachments."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from quoteflow.desk.store import QUEUE_STATUSES
from quoteflow.desk.web.pages import DeskDep, claim_page, read_form, visible_claim
from quoteflow.desk.web.render import render
from quoteflow.desk.web.security import ReviewerDep, UserDep, check_csrf

router = APIRouter()


@router.get("/queue")
async def queue(request: Request, user: ReviewerDep, desk: DeskDep) -> Response:
    return render(request, "queue.html", user=user,
                  claims=await desk.store.by_status(QUEUE_STATUSES))


@router.post("/claims/{reference}/decision")
async def decide(request: Request, reference: str, user: ReviewerDep,
                 desk: DeskDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, form.get("csrf_token"))
    await visible_claim(desk, user, reference)
    error = await desk.decide(reference, user.username, str(form.get("action", "")),
                              str(form.get("reason", "")))
    if error:
        return await claim_page(request, reference, user, desk, error, 422)
    return RedirectResponse(f"/claims/{reference}", 303)


@router.get("/claims/{reference}/documents/{doc_id}")
async def document(reference: str, doc_id: int, user: UserDep, desk: DeskDep) -> Response:
    """Always a download, never rendered by the browser: attachment + nosniff + a
    sandboxing CSP, whatever the file holds."""
    await visible_claim(desk, user, reference)
    doc = next((d for d in await desk.store.documents(reference) if d["id"] == doc_id), None)
    if doc is None:
        raise HTTPException(404, f"no document {doc_id} on claim {reference}")
    from urllib.parse import quote

    return Response(desk.folder.read(doc["sha256"]), media_type=doc["content_type"], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc['filename'])}",
        "Content-Security-Policy": "sandbox; default-src 'none'"})
