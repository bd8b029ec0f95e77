"""Log in and out; an agent's claims: list, new-claim form, filing, the claim page,
adding documents. Every POST checks the CSRF token first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from quoteflow.desk import accounts, claims, forms
from quoteflow.desk.claims import Desk
from quoteflow.desk.web.render import render
from quoteflow.desk.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    User,
    UserDep,
    check_csrf,
    current_user,
    open_session,
    set_cookie,
)

router = APIRouter()


def desk(request: Request) -> Desk:
    running: Desk = request.app.state.desk  # set by the app's lifespan
    return running


DeskDep = Annotated[Desk, Depends(desk)]


async def read_form(request: Request) -> FormData:
    s = request.app.state.settings
    try:  # more files than allowed still parse, so the page can say how many were sent
        return await request.form(max_files=s.max_files * 4, max_fields=100)
    except HTTPException as e:
        raise HTTPException(400, f"the form could not be read: {e.detail}") from e


async def uploads_of(form: FormData, name: str = "documents") -> list[claims.Upload]:
    """(name, bytes) of each chosen file; an input left empty sends a nameless empty part."""
    out = []
    for item in form.getlist(name):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            out.append((item.filename or "", await item.read()))
    return out


@router.get("/")
async def home(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/queue" if user.role == "reviewer" else "/claims", 303)


@router.get("/login")
async def login_page(request: Request, error: str | None = None) -> Response:
    token = accounts.new_token()
    page = render(request, "login.html", csrf=token, error=error,
                  code=401 if error else 200)
    set_cookie(page, request, LOGIN_CSRF_COOKIE, token, 3600)
    return page


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token"))
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    user = await request.app.state.store.user(username)
    if not accounts.verify_password(user["password_hash"] if user else None, password):
        return await login_page(request, "Wrong user name or password.")
    response = RedirectResponse("/", 303)
    await open_session(request, response, username)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, user: UserDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, form.get("csrf_token"))
    token = request.cookies.get(SESSION_COOKIE, "")
    await request.app.state.store.close_session(accounts.token_digest(token))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/claims")
async def my_claims(request: Request, user: UserDep, desk: DeskDep) -> Response:
    return render(request, "claims.html", user=user,
                  claims=await desk.store.claims_of(user.username))


def new_claim_page(request: Request, user: User, values: dict[str, Any],
                   errors: dict[str, str], status: int = 200) -> Response:
    s = request.app.state.settings
    return render(request, "new_claim.html", status, user=user, fields=forms.FIELDS,
                  lines=forms.LINES, values=values, errors=errors, max_files=s.max_files,
                  max_size=s.max_file_bytes // (1024 * 1024))


@router.get("/claims/new")
async def new_claim(request: Request, user: UserDep) -> Response:
    if user.role != "agent":
        raise HTTPException(403, "only agents file claims")
    return new_claim_page(request, user, {}, {})


@router.post("/claims")
async def file_claim(request: Request, user: UserDep, desk: DeskDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, form.get("csrf_token"))
    if user.role != "agent":
        raise HTTPException(403, "only agents file claims")
    values = {k: v for k, v in form.items() if isinstance(v, str) and k in forms.NAMES}
    filing = await desk.file(user.username, values, await uploads_of(form),
                             dt.datetime.now(dt.UTC).date())
    if filing.errors:
        return new_claim_page(request, user, values, filing.errors, 422)
    return RedirectResponse(f"/claims/{filing.reference}", 303)


async def visible_claim(desk: Desk, user: User, reference: str) -> dict[str, Any]:
    """The claim if this user may see it; 404 otherwise (whether it exists or not)."""
    claim = await desk.store.claim(reference)
    if claim is None or (user.role != "reviewer" and claim["agent"] != user.username):
        raise HTTPException(404, f"no claim {reference} of yours")
    return claim


@router.get("/claims/{reference}")
async def show_claim(request: Request, reference: str, user: UserDep, desk: DeskDep) -> Response:
    return await claim_page(request, reference, user, desk)


async def claim_page(request: Request, reference: str, user: User, desk: Desk,
                     error: str | None = None, status: int = 200) -> Response:
    claim = await visible_claim(desk, user, reference)
    return render(request, "claim.html", status, user=user, claim=claim,
                  documents=await desk.store.documents(reference),
                  history=await desk.store.history(reference),
                  missing=claims.missing(claim["request"]), facts=claims.facts(claim),
                  error=error,
                  max_files=request.app.state.settings.max_files)


@router.post("/claims/{reference}/documents")
async def add_documents(request: Request, reference: str, user: UserDep,
                        desk: DeskDep) -> Response:
    form = await read_form(request)
    check_csrf(user.csrf, form.get("csrf_token"))
    await visible_claim(desk, user, reference)
    error, _ = await desk.add_documents(reference, user.username, await uploads_of(form))
    if error:
        return await claim_page(request, reference, user, desk, error, 422)
    return RedirectResponse(f"/claims/{reference}", 303)
