"""A local fake of the Genesys Cloud Platform API endpoints licensebot uses.

`FakeGenesys` is one aiohttp server on 127.0.0.1 that plays both hosts: the login host
(`POST /oauth/token`, client credentials with HTTP Basic) and the API host (`/api/v2/...`).
It holds an org (users, license definitions, who holds what, billable usage), answers
like the real service (see REFERENCE.md), records every call with its time, and can be
told to fail: 429 with Retry-After, 5xx, an expired token (401), or a hang.

    fake = FakeGenesys()
    await fake.start()
    fake.add_user("u1", "nina@example.com", last_token="2026-11-29T10:00:00Z")
    fake.fail("/api/v2/license/users", status=429, retry_after=2)
    ...
    await fake.stop()
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CLIENT_ID = "genesys-client"
CLIENT_SECRET = "genesys-secret"
ALL_PERMISSIONS = frozenset(
    {"authorization:grant:add", "directory:user:view", "billing:subscription:view"}
)
DEFAULT_DEFINITIONS = (
    ("cloudCX3", "Genesys Cloud CX 3"),
    ("cloudCX2", "Genesys Cloud CX 2"),
    ("cloudCX1", "Genesys Cloud CX 1"),
    ("communicate", "Genesys Cloud Communicate"),
    ("wem", "Workforce Engagement Management"),
    ("collaborate", "Genesys Cloud Collaborate"),
)
HOLD_SECONDS = 30.0


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float  # time.monotonic() when it arrived
    status: int = 0
    token: str | None = None


@dataclass
class Fault:
    path: str  # a prefix of the request path ("/api/v2/license" or "/oauth/token")
    status: int = 500
    retry_after: float | None = None
    hang: bool = False
    body: str | None = None


@dataclass
class User:
    id: str
    email: str
    name: str
    state: str = "active"  # active | inactive | deleted
    date_last_login: str | None = None
    last_token: str | None = None

    def entity(self, expand: set[str]) -> dict[str, Any]:
        found: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "state": self.state,
            "selfUri": f"/api/v2/users/{self.id}",
        }
        if "datelastlogin" in expand and self.date_last_login:
            found["dateLastLogin"] = self.date_last_login
        if "lasttokenissued" in expand and self.last_token:
            found["lastTokenIssued"] = {"dateIssued": self.last_token}
        return found


@dataclass
class FakeGenesys:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    expires_in: int = 86400
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    license_page_max: int = 100
    users_page_max: int = 500
    billing_in_progress: int = 1  # answers InProgress this many times before Complete
    reject_empty_assignments: bool = False  # answer 400 to {"assignments": []}

    def __post_init__(self) -> None:
        self.definitions: dict[str, str] = dict(DEFAULT_DEFINITIONS)
        self.users: dict[str, User] = {}
        self.licenses: dict[str, set[str]] = {}  # user id -> license ids held
        self.role_licenses: dict[str, set[str]] = {}  # user id -> licenses a role implies
        self.refusals: dict[tuple[str, str], str] = {}  # (user, license) -> result text
        self.billable: dict[str, int] | None = None  # license -> usage; None: computed
        self.calls: list[Call] = []
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.faults: list[Fault] = []
        self._token_ids = itertools.count(1)
        self._billing_polls = 0
        self._runner: web.AppRunner | None = None
        self._hanging: set[asyncio.Future[None]] = set()
        self.url = ""

    # --- lifecycle ----------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for waiter in self._hanging:
            if not waiter.done():
                waiter.set_result(None)
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the org --------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        email: str,
        name: str | None = None,
        *,
        state: str = "active",
        last_login: str | None = None,
        last_token: str | None = None,
        licenses: tuple[str, ...] = (),
    ) -> User:
        user = User(
            user_id, email, name or email.split("@")[0].title(), state, last_login, last_token
        )
        self.users[user_id] = user
        if licenses:
            self.licenses.setdefault(user_id, set()).update(licenses)
        return user

    def held(self, user_id: str) -> set[str]:
        return set(self.licenses.get(user_id, set()))

    def holders(self, license_id: str) -> set[str]:
        return {u for u, held in self.licenses.items() if license_id in held}

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = 0.0

    def fail(
        self,
        path: str,
        *,
        status: int = 500,
        retry_after: float | None = None,
        hang: bool = False,
        times: int = 1,
        body: str | None = None,
    ) -> None:
        for _ in range(times):
            self.faults.append(Fault(path, status, retry_after, hang, body))

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.path.startswith(path) and (method is None or c.method == method)
        ]

    def busiest_window(self, seconds: float = 60.0, path: str = "/api/") -> int:
        """The most API calls that arrived within any `seconds` window."""
        times = sorted(c.at for c in self.calls if c.path.startswith(path))
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    # --- dispatch -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/_stats":  # for the benchmark: not recorded
            window = float(request.query.get("window", "60"))
            return web.json_response(
                {
                    "api_calls": len(self.calls_to("/api/")),
                    "token_calls": len(self.calls_to("/oauth/token")),
                    "rate_limited": sum(1 for c in self.calls if c.status == 429),
                    "busiest_window": self.busiest_window(window, path="/"),
                    "users": len(self.users),
                }
            )
        raw = await request.read()
        body: Any = None
        if raw:
            if request.content_type == "application/json":
                body = json.loads(raw)
            else:
                body = _form(raw)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        call = Call(
            request.method, request.path, dict(request.query), body, time.monotonic(), token=token
        )
        self.calls.append(call)
        fault = self._take_fault(request.path)
        if fault is not None:
            return await self._faulted(call, fault)
        if request.path == "/oauth/token" and request.method == "POST":
            response = self._token(request, body)
        elif not request.path.startswith("/api/v2/"):
            response = _error(404, "not.found", "no such resource")
        elif token is None or self.tokens.get(token, 0.0) <= time.monotonic():
            response = _error(401, "bad.credentials", "Invalid login credentials.")
        else:
            response = self._api(request, body)
        call.status = response.status
        return response

    def _take_fault(self, path: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if path.startswith(fault.path):
                return self.faults.pop(index)
        return None

    async def _faulted(self, call: Call, fault: Fault) -> web.StreamResponse:
        if fault.hang:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._hanging.add(waiter)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), HOLD_SECONDS)
            self._hanging.discard(waiter)
        call.status = fault.status
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(math.ceil(fault.retry_after)))
        if fault.status == 429:
            return web.json_response(
                {"status": 429, "code": "too.many.requests", "message": "Rate limit exceeded"},
                status=429,
                headers=headers,
            )
        return web.Response(
            status=fault.status,
            text=fault.body or "<html>upstream error</html>",
            headers=headers,
            content_type="text/html",
        )

    def _token(self, request: web.Request, body: Any) -> web.Response:
        auth = request.headers.get("Authorization", "")
        try:
            who = base64.b64decode(auth.removeprefix("Basic ")).decode()
        except ValueError:
            who = ""
        if not auth.startswith("Basic ") or who != f"{self.client_id}:{self.client_secret}":
            return web.json_response(
                {"error": "invalid_client", "description": "client not found"}, status=401
            )
        if (body or {}).get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"token-{next(self._token_ids)}"
        self.tokens[token] = time.monotonic() + self.expires_in
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in}
        )

    def _api(self, request: web.Request, body: Any) -> web.Response:
        path, method, query = request.path, request.method, request.query
        if path == "/api/v2/license/definitions" and method == "GET":
            if not self.permissions & {"authorization:grant:add", "authorization:license:view"}:
                return _forbidden("authorization:grant:add")
            return web.json_response(
                [
                    {
                        "id": i,
                        "name": d,
                        "description": d,
                        "permissions": [],
                        "prerequisites": [],
                        "comprises": [],
                        "selfUri": f"/api/v2/license/definitions/{i}",
                    }
                    for i, d in self.definitions.items()
                ]
            )
        if path == "/api/v2/license/users" and method == "GET":
            if not self.permissions & {"authorization:grant:add", "authorization:license:view"}:
                return _forbidden("authorization:grant:add")
            holders = sorted(u for u, held in self.licenses.items() if held)
            page = self._page(holders, query, self.license_page_max)
            page["entities"] = [
                {"id": u, "licenses": sorted(self.licenses[u])} for u in page.pop("items")
            ]
            return web.json_response(page)  # no nextUri on this one
        if path.startswith("/api/v2/license/users/") and method == "GET":
            user_id = path.rsplit("/", 1)[1]
            return web.json_response(
                {
                    "id": user_id,
                    "licenses": [
                        {"id": i, "description": self.definitions.get(i, i)}
                        for i in sorted(self.licenses.get(user_id, set()))
                    ],
                }
            )
        if path == "/api/v2/license/organization" and method == "POST":
            if "authorization:grant:add" not in self.permissions:
                return _forbidden("authorization:grant:add")
            if self.reject_empty_assignments and not (body or {}).get("assignments"):
                return _error(400, "bad.request", "assignments must not be empty")
            return web.json_response(self._assign(body or {}))
        if path == "/api/v2/users/search" and method == "POST":
            if "directory:user:view" not in self.permissions:
                return _forbidden("directory:user:view")
            return web.json_response(self._search(body or {}))
        if path == "/api/v2/users" and method == "GET":
            if "directory:user:view" not in self.permissions:
                return _forbidden("directory:user:view")
            state = query.get("state", "active")
            expand = {e.strip().lower() for e in query.get("expand", "").split(",") if e}
            ids = sorted(u.id for u in self.users.values() if state == "any" or u.state == state)
            page = self._page(ids, query, self.users_page_max)
            page["entities"] = [self.users[u].entity(expand) for u in page.pop("items")]
            if page["pageNumber"] < page["pageCount"]:
                page["nextUri"] = (
                    f"/api/v2/users?pageSize={page['pageSize']}"
                    f"&pageNumber={page['pageNumber'] + 1}&state={state}"
                )
            return web.json_response(page)
        if path == "/api/v2/billing/reports/billableusage" and method == "GET":
            if not self.permissions & {"billing:subscription:view", "billing:subscription:read"}:
                return _forbidden("billing:subscription:view")
            if "startDate" not in query or "endDate" not in query:
                return _error(400, "bad.request", "startDate and endDate are required")
            self._billing_polls += 1
            if self._billing_polls <= self.billing_in_progress:
                return web.json_response({"status": "InProgress"})
            return web.json_response({"status": "Complete", "usages": self._usages()})
        return _error(404, "not.found", f"no route {method} {path}")

    def _page(self, items: list[str], query: Any, maximum: int) -> dict[str, Any]:
        size = max(1, min(int(query.get("pageSize", 25)), maximum))
        number = max(1, int(query.get("pageNumber", 1)))
        total = len(items)
        count = math.ceil(total / size) if total else 0
        chunk = items[(number - 1) * size : number * size]
        return {
            "items": chunk,
            "pageSize": size,
            "pageNumber": number,
            "total": total,
            "pageCount": count,
        }

    def _assign(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        results = []
        for item in body.get("assignments", []):
            license_id = item.get("licenseId")
            for user_id in item.get("userIdsAdd", []) or []:
                results.append(self._change(user_id, license_id, add=True))
            for user_id in item.get("userIdsRemove", []) or []:
                results.append(self._change(user_id, license_id, add=False))
        return results

    def _change(self, user_id: str, license_id: str, *, add: bool) -> dict[str, Any]:
        result = "Success"
        user = self.users.get(user_id)
        if user is None or user.state == "deleted":
            result = "UserNotFound"
        elif license_id not in self.definitions:
            result = "LicenseNotFound"
        elif (user_id, license_id) in self.refusals:
            result = self.refusals[(user_id, license_id)]
        elif add:
            self.licenses.setdefault(user_id, set()).add(license_id)
        elif license_id not in self.role_licenses.get(user_id, set()):
            # Licenses follow roles: a role that implies it keeps it (answered Success).
            self.licenses.get(user_id, set()).discard(license_id)
        return {"userId": user_id, "licenseId": license_id, "result": result}

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        wanted = ""
        for clause in body.get("query", []):
            if "email" in clause.get("fields", []):
                wanted = str(clause.get("value", "")).lower()
        found = [
            u.entity({"datelastlogin", "lasttokenissued"})
            for u in self.users.values()
            if u.email.lower() == wanted and u.state != "deleted"
        ]
        answer: dict[str, Any] = {
            "total": len(found),
            "pageCount": 1 if found else 0,
            "pageSize": 25,
            "pageNumber": 1,
            "types": ["users"],
        }
        if found:  # an empty search answers without `results`
            answer["results"] = found
        return answer

    def _usages(self) -> list[dict[str, Any]]:
        if self.billable is not None:
            counts = dict(self.billable)
        else:
            counts = {}
            for user_id, held in self.licenses.items():
                user = self.users.get(user_id)
                if user is None or user.state != "active":
                    continue
                for license_id in held:
                    counts[license_id] = counts.get(license_id, 0) + 1
        return [
            {"name": name, "totalUsage": str(total), "resources": []}
            for name, total in sorted(counts.items())
        ]


def _form(raw: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(raw.decode()))


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"status": status, "code": code, "message": message}, status=status)


def _forbidden(permission: str) -> web.Response:
    return web.json_response(
        {
            "status": 403,
            "code": "missing.permissions",
            "message": f"Unable to perform the requested action. You are missing the following "
            f"permission(s): [{permission}]",
            "messageParams": {"perms": permission},
        },
        status=403,
    )
