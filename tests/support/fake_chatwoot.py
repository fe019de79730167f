"""A fake Chatwoot: a real HTTP server (in a thread of its own) with the Application API
endpoints SecurityVision uses, checking requests as Chatwoot would, able to fail on demand
and to go down and come back, and recording what it received.

- Every call needs the ``api_access_token`` header (401 otherwise) and the account in the path.
- Contacts need ``inbox_id`` and a unique ``identifier`` (422); conversations need
  ``source_id``, an existing ``inbox_id`` and ``contact_id`` (422); messages need a string
  ``content`` and, in multipart, ``attachments[]`` file parts (422); a filter on a custom
  attribute needs its definition (422, ``custom_attribute_defined``).
- ``fail(status, times, retry_after=...)`` answers the next calls with that status;
  ``slow(seconds, times)`` handles the next calls and then waits before answering (a client
  that times out meanwhile never learns the call was taken); ``stop()`` and ``start()`` take
  the server off the network and back on the same port.
"""

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "fake-chatwoot-token"
ACCOUNT_ID = 2
INBOX_ID = 3
INBOX_IDENTIFIER = "sv-inbox"
PAGE_SIZE = 20


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeMessage:
    id: int
    conversation_id: int
    content: str
    private: bool
    message_type: str
    source_id: str | None
    content_attributes: dict[str, Any]
    created_at: int
    attachments: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "content": self.content,
            "private": self.private,
            "message_type": self.message_type,
            "source_id": self.source_id,
            "content_attributes": self.content_attributes,
            "created_at": self.created_at,
            "conversation_id": self.conversation_id,
            "attachments": [{k: v for k, v in a.items() if k != "data"} for a in self.attachments],
        }


@dataclass
class FakeConversation:
    id: int
    inbox_id: int
    contact_id: int
    source_id: str
    custom_attributes: dict[str, Any]
    team_id: int | None
    status: str = "open"
    messages: list[FakeMessage] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inbox_id": self.inbox_id,
            "status": self.status,
            "custom_attributes": self.custom_attributes,
            "meta": {"sender": {"id": self.contact_id, "type": "contact"}},
            "contact_inbox": {"source_id": self.source_id},
        }


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FakeChatwoot:
    def __init__(self, port: int = 0) -> None:
        self.custom_attribute_defined = True
        self.inboxes = [
            {"id": INBOX_ID, "name": "SecurityVision", "inbox_identifier": INBOX_IDENTIFIER},
            {"id": 9, "name": "Portaria", "inbox_identifier": "portaria-inbox"},
        ]
        self.contacts: dict[int, dict[str, Any]] = {}
        self.conversations: dict[int, FakeConversation] = {}
        self.requests: list[Recorded] = []
        # Files it serves to anyone, by path (attachments' data_url).
        self.files: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._ids = iter(range(100, 10**9))
        self._failures: list[tuple[int, str | None]] = []
        self._delays: list[tuple[float, str | None]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    # -- lifecycle --

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            chatwoot = fake

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- what the tests tell it --

    def fail(self, status: int, times: int = 1, *, retry_after: str | None = None) -> None:
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def slow(self, seconds: float, times: int = 1, *, only: str | None = None) -> None:
        """Answer the next ``times`` calls (those whose ``"METHOD /path"`` ends with
        ``only``, when given) ``seconds`` late, after handling them."""
        with self._lock:
            self._delays.extend([(seconds, only)] * times)

    # -- what the tests read --

    def all_messages(self) -> list[FakeMessage]:
        with self._lock:
            return [m for c in self.conversations.values() for m in c.messages]

    def conversation_for(self, incident_id: int) -> FakeConversation | None:
        with self._lock:
            for conversation in self.conversations.values():
                if conversation.custom_attributes.get("incident_id") == incident_id:
                    return conversation
        return None

    def calls(self, method: str, suffix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # -- handling (under the lock) --

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(Recorded(method, parts.path, headers, body))
            if method == "GET" and parts.path in self.files:
                return _Raw(self.files[parts.path])
            if self._failures:
                status, retry_after = self._failures.pop(0)
                raise _Failure(status, retry_after)
            if headers.get("api_access_token") != TOKEN:
                raise _Problem(401, "You need to sign in or sign up before continuing.")
            prefix = f"/api/v1/accounts/{ACCOUNT_ID}/"
            if not parts.path.startswith(prefix):
                raise _Problem(404, "unknown account")
            route = parts.path.removeprefix(prefix).strip("/").split("/")
            return self._route(method, route, query, headers, body)

    def take_delay(self, method: str, path: str) -> float:
        with self._lock:
            for index, (seconds, only) in enumerate(self._delays):
                if only is None or f"{method} {urlsplit(path).path}".endswith(only):
                    del self._delays[index]
                    return seconds
        return 0.0

    def _route(
        self,
        method: str,
        route: list[str],
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Any:
        match method, route:
            case "GET", ["inboxes"]:
                result = {"payload": self.inboxes}
            case "GET", ["contacts", "search"]:
                q = query.get("q", "")
                found = [c for c in self.contacts.values() if q and q in (c["identifier"] or "")]
                result = {"meta": {"count": len(found)}, "payload": found}
            case "POST", ["contacts"]:
                result = self._create_contact(_json(body))
            case "POST", ["conversations", "filter"]:
                result = self._filter(_json(body))
            case "POST", ["conversations"]:
                result = self._create_conversation(_json(body))
            case "GET", ["conversations", cid, "messages"]:
                result = self._list_messages(self._conversation(cid), query)
            case "POST", ["conversations", cid, "messages"]:
                result = self._create_message(self._conversation(cid), headers, body)
            case "POST", ["conversations", cid, "custom_attributes"]:
                conversation = self._conversation(cid)
                attributes = _json(body).get("custom_attributes")
                if not isinstance(attributes, dict):
                    raise _Problem(422, "custom_attributes is required")
                conversation.custom_attributes = conversation.custom_attributes | attributes
                result = {"custom_attributes": conversation.custom_attributes}
            case _:
                raise _Problem(404, f"no route {method} {'/'.join(route)}")
        return result

    def _create_contact(self, data: dict[str, Any]) -> Any:
        if not isinstance(data.get("inbox_id"), int):
            raise _Problem(422, "inbox_id is required")
        identifier = data.get("identifier")
        if any(c["identifier"] == identifier for c in self.contacts.values()):
            raise _Problem(422, "Identifier has already been taken")
        contact = {"id": next(self._ids), "name": data.get("name"), "identifier": identifier}
        self.contacts[contact["id"]] = contact
        return {"payload": {"contact": contact, "contact_inbox": {"inbox": {"id": 3}}}}

    def _filter(self, data: dict[str, Any]) -> Any:
        conditions = data.get("payload")
        if not isinstance(conditions, list) or not conditions:
            raise _Problem(400, "payload is required")
        found = list(self.conversations.values())
        for condition in conditions:
            if not {"attribute_key", "filter_operator", "values"} <= set(condition):
                raise _Problem(400, "invalid filter")
            key, values = condition["attribute_key"], [str(v) for v in condition["values"]]
            if key == "inbox_id":
                found = [c for c in found if str(c.inbox_id) in values]
            elif key == "incident_id":
                if not self.custom_attribute_defined:
                    raise _Problem(422, "Invalid attribute key - [incident_id]")
                found = [c for c in found if str(c.custom_attributes.get(key)) in values]
            else:
                raise _Problem(422, f"Invalid attribute key - [{key}]")
        return {"meta": {"all_count": len(found)}, "payload": [c.json() for c in found]}

    def _create_conversation(self, data: dict[str, Any]) -> Any:
        if not isinstance(data.get("source_id"), str):
            raise _Problem(422, "source_id is required")
        if data.get("inbox_id") not in {i["id"] for i in self.inboxes}:
            raise _Problem(422, "inbox not found")
        if data.get("contact_id") not in self.contacts:
            raise _Problem(422, "contact not found")
        attributes = data.get("custom_attributes", {})
        if not isinstance(attributes, dict):
            raise _Problem(422, "custom_attributes must be an object")
        conversation = FakeConversation(
            id=next(self._ids),
            inbox_id=data["inbox_id"],
            contact_id=data["contact_id"],
            source_id=data["source_id"],
            custom_attributes=attributes,
            team_id=data.get("team_id"),
            status=data.get("status", "open"),
        )
        self.conversations[conversation.id] = conversation
        return conversation.json() | {"account_id": ACCOUNT_ID}

    def _conversation(self, cid: str) -> FakeConversation:
        conversation = self.conversations.get(int(cid)) if cid.isdigit() else None
        if conversation is None:
            raise _Problem(404, "Resource could not be found")
        return conversation

    def _list_messages(self, conversation: FakeConversation, query: dict[str, str]) -> Any:
        messages = conversation.messages
        if "before" in query:
            messages = [m for m in messages if m.id < int(query["before"])]
        return {"meta": {}, "payload": [m.json() for m in messages[-PAGE_SIZE:]]}

    def _create_message(
        self, conversation: FakeConversation, headers: dict[str, str], body: bytes
    ) -> Any:
        content_type = headers.get("content-type", "")
        attachments: list[dict[str, Any]] = []
        if content_type.startswith("multipart/form-data"):
            fields, attachments = _multipart(content_type, body)
            if not attachments:
                raise _Problem(422, "attachments[] must hold files")
            attributes = {
                k.removeprefix("content_attributes[").removesuffix("]"): v
                for k, v in fields.items()
                if k.startswith("content_attributes[")
            }
            data: dict[str, Any] = fields | {
                "private": fields.get("private") == "true",
                "content_attributes": attributes,
            }
        else:
            data = _json(body)
        if not isinstance(data.get("content"), str):
            raise _Problem(422, "content is required")
        if data.get("message_type", "outgoing") not in ("outgoing", "incoming"):
            raise _Problem(422, "invalid message_type")
        if not isinstance(data.get("private", False), bool):
            raise _Problem(422, "private must be a boolean")
        message = FakeMessage(
            id=next(self._ids),
            conversation_id=conversation.id,
            content=data["content"],
            private=data.get("private", False),
            message_type=data.get("message_type", "outgoing"),
            source_id=data.get("source_id"),
            content_attributes=dict(data.get("content_attributes") or {}),
            created_at=int(time.time()),
            attachments=attachments,
        )
        conversation.messages.append(message)
        return message.json()


@dataclass
class _Raw:
    data: bytes


class _Failure(Exception):
    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _Problem(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Problem(400, "the body is not an object")
    return data


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[dict[str, Any]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if part.get_filename() is not None:
            if name != "attachments[]":
                raise _Problem(422, f"unexpected file field {name!r}")
            files.append(
                {
                    "file_name": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                    "data": payload,
                }
            )
        else:
            fields[str(name)] = payload.decode()
    return fields, files


class _Handler(BaseHTTPRequestHandler):
    chatwoot: FakeChatwoot

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        extra: dict[str, str] = {}
        try:
            answer = self.chatwoot.handle(method, self.path, headers, body)
            status = 200
        except _Failure as failure:
            status, answer = failure.status, {"error": "injected failure"}
            if failure.retry_after is not None:
                extra["Retry-After"] = failure.retry_after
        except _Problem as problem:
            status, answer = problem.status, {"message": str(problem)}
        delay = self.chatwoot.take_delay(method, self.path)
        if delay:
            time.sleep(delay)
        raw = isinstance(answer, _Raw)
        data = answer.data if isinstance(answer, _Raw) else json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/octet-stream" if raw else "application/json"
            )
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            return  # the client gave up waiting


@contextmanager
def running_fake_chatwoot() -> Iterator[FakeChatwoot]:
    fake = FakeChatwoot()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
