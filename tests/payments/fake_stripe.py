"""Stripe, played at its HTTP boundary: a small threaded HTTP server answering the calls we make
the way Stripe's API documents them, and Stripe's webhook events, signed as Stripe signs them.

The real ``stripe`` library talks to the server (``STRIPE_API_BASE``); nothing of ours is
replaced. The server parses form-encoded bodies with nested keys (``metadata[payout_id]=7``),
keeps objects it created, honours ``Idempotency-Key`` like Stripe (the same key gets the stored
answer again; the same key with other parameters is an ``idempotency_error``), counts requests
per method and path, and can be told to fail per path:

- ``"500"``: Stripe's front door is down: a JSON ``api_error``, nothing executed or stored;
- ``"hang"``: no answer for ``seconds`` (longer than the client's timeout), nothing executed;
- ``"400"``: Stripe refuses, with its error body (``invalid_request_error`` and a message);
- ``"delay"``: the request is executed (and its idempotent answer stored), then the answer is
  held back for ``seconds`` — long enough to kill the caller while it waits;
- ``"hold"``: the request is held *before* it is executed, until ``recover()``: if the caller
  hangs up meanwhile (it was killed), the request is dropped and nothing is executed or stored
  (``dropped``, ``wait_for_drop``); after ``seconds`` without either, a JSON ``api_error``.

``effects`` counts the requests that were executed and created something (an idempotent
replay is not an effect).
"""

import copy
import hashlib
import hmac
import http.server
import itertools
import json
import re
import secrets
import select
import socket
import threading
import time
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_crowdsource_fake"
WEBHOOK_SECRET = "whsec_crowdsource_fake"
API_VERSION = "2025-09-30.clover"


# --- form-encoded bodies -----------------------------------------------------------------


def parse_form(text):
    """Stripe's form encoding (``a[b][0][c]=v``) as nested dicts and lists of strings."""
    tree = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, *rest = re.findall(r"[^\[\]]+", key)
        node, parts = tree, [head, *rest]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(tree)


def _lists(node):
    if not isinstance(node, dict):
        return node
    node = {key: _lists(value) for key, value in node.items()}
    if node and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


# --- the server --------------------------------------------------------------------------


class Request:
    """One request the server received."""

    def __init__(self, method, path, query, params, headers):
        self.method, self.path, self.query, self.params = method, path, query, params
        self.headers = headers

    @property
    def idempotency_key(self):
        return self.headers.get("Idempotency-Key")

    def __repr__(self):
        return f"<{self.method} {self.path} {self.idempotency_key}>"


class StripeError(Exception):
    def __init__(self, status, kind, message, code=None, param=None):
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": kind, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


class FakeStripe:
    """The fake Stripe: ``url`` after ``start()``; ``requests``, ``count(method, path)``,
    ``fail(path, mode, …)``, ``recover()``, the stored objects, and helpers to pay a Checkout
    Session and to build the events Stripe would send."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.release = threading.Event()
        self.requests = []
        self.counts = Counter()
        #: executed requests that created something, by (method, path)
        self.effects = Counter()
        #: requests held before acting whose caller hung up (never executed)
        self.dropped = []
        self.failures = {}
        self.idempotent = {}
        self.sessions, self.intents, self.charges = {}, {}, {}
        self.accounts, self.transfers, self.refunds = {}, [], {}
        #: the status of new Refunds ("succeeded" or "pending")
        self.refund_status = "succeeded"
        self._ids = itertools.count(1)
        self.server = None

    # the server's life

    def start(self):
        fake = self

        class Handler(_Handler):
            stripe = fake

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # what the test controls

    def fail(self, path, mode, method=None, seconds=30.0, message=None):
        """Make requests to ``path`` (of ``method``, or any) fail in ``mode`` until recover()."""
        assert mode in ("500", "hang", "400", "delay", "hold"), mode
        with self.lock:
            self.failures[(method, path)] = {"mode": mode, "seconds": seconds, "message": message}

    def recover(self):
        """Stripe works again; requests held back (hang, delay) are let go."""
        with self.lock:
            self.failures.clear()
        self.release.set()
        self.release = threading.Event()

    def count(self, method, path):
        with self.lock:
            return self.counts[(method, path)]

    def received(self, method, path):
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def wait_for(self, method, path, count=1, timeout=60):
        """Block until ``count`` requests of ``method`` to ``path`` arrived."""
        with self.arrived:
            done = self.arrived.wait_for(lambda: self.counts[(method, path)] >= count, timeout)
        assert done, f"{method} {path} did not arrive ({self.requests})"

    def wait_for_drop(self, method, path, count=1, timeout=60):
        """Block until ``count`` held requests of ``method`` to ``path`` lost their caller."""

        def dropped():
            return len([r for r in self.dropped if (r.method, r.path) == (method, path)])

        with self.arrived:
            done = self.arrived.wait_for(lambda: dropped() >= count, timeout)
        assert done, f"no held {method} {path} was dropped ({self.dropped})"

    def effect_count(self, method, path):
        with self.lock:
            return self.effects[(method, path)]

    def new_id(self, prefix):
        return f"{prefix}_test_{next(self._ids):04d}{secrets.token_hex(6)}"

    # handling a request

    def handle(self, method, target, headers, body, caller_gone=lambda: False):
        """(status, JSON body, seconds to hold the answer back) of one request; status None:
        the caller hung up while the request was held, nothing to answer."""
        release = self.release
        split = urlsplit(target)
        path = split.path
        params = parse_form(split.query if method == "GET" else body)
        request = Request(method, path, split.query, params, headers)
        with self.arrived:
            self.requests.append(request)
            self.counts[(method, path)] += 1
            self.arrived.notify_all()
            failure = self.failures.get((method, path)) or self.failures.get((None, path))
        if not headers.get("Authorization", "").startswith("Bearer sk_test_"):
            return 401, _error(401, "invalid_request_error", "Invalid API Key provided."), 0
        if failure and failure["mode"] == "500":
            message = failure["message"] or "An unknown error occurred."
            return 500, _error(500, "api_error", message), 0
        if failure and failure["mode"] == "hang":
            return 500, _error(500, "api_error", "late"), failure["seconds"]
        if failure and failure["mode"] == "400":
            message = failure["message"] or "Your destination account needs to have transfers."
            return 400, _error(400, "invalid_request_error", message), 0
        if failure and failure["mode"] == "hold":
            held = self._hold(request, release, failure["seconds"], caller_gone)
            if held is not None:
                return held
        status, answer = self._execute(request)
        delayed = failure and failure["mode"] == "delay"
        return status, answer, failure["seconds"] if delayed else 0

    def _hold(self, request, release, seconds, caller_gone):
        """Hold a request before acting: None once released to be executed; (None, None, 0)
        when its caller hung up; an api_error after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not release.wait(0.05):
            if caller_gone():
                break
            if time.monotonic() > deadline:
                return 500, _error(500, "api_error", "held too long"), 0
        if not caller_gone():
            return None
        with self.arrived:
            self.dropped.append(request)
            self.arrived.notify_all()
        return None, None, 0

    def _execute(self, request):
        key = request.idempotency_key if request.method == "POST" else None
        with self.lock:
            if key and key in self.idempotent:
                first, status, answer = self.idempotent[key]
                if (first.path, first.params) != (request.path, request.params):
                    message = (
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with."
                    )
                    return 400, _error(400, "idempotency_error", message)
                return status, copy.deepcopy(answer)
            try:
                status, answer = 200, self._route(request)
                if request.method == "POST":
                    self.effects[(request.method, request.path)] += 1
            except StripeError as error:
                status, answer = error.status, error.body
            if key:
                self.idempotent[key] = (request, status, copy.deepcopy(answer))
            return status, answer

    def _route(self, request):
        routes = {
            ("POST", "/v1/checkout/sessions"): self._create_session,
            ("POST", "/v1/accounts"): self._create_account,
            ("POST", "/v1/account_links"): self._create_account_link,
            ("GET", "/v1/transfers"): self._list_transfers,
            ("POST", "/v1/transfers"): self._create_transfer,
            ("POST", "/v1/refunds"): self._create_refund,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            raise StripeError(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({request.method}: {request.path}).",
            )
        return route(request.params)

    # the resources (called under the lock)

    def _create_session(self, params):
        _require(params, "mode", "success_url", "line_items")
        total = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
            for item in params["line_items"]
        )
        session_id = self.new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "client_reference_id": params.get("client_reference_id"),
            "currency": params["line_items"][0]["price_data"]["currency"],
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "mode": params["mode"],
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/pay/{session_id}",
            "created": int(time.time()),
        }
        self.sessions[session_id] = {"session": session, "params": params}
        return copy.deepcopy(session)

    def _create_account(self, params):
        account_id = self.new_id("acct")
        account = {
            "id": account_id,
            "object": "account",
            "type": params.get("type", "express"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "metadata": params.get("metadata", {}),
            "created": int(time.time()),
        }
        self.accounts[account_id] = account
        return copy.deepcopy(account)

    def _create_account_link(self, params):
        _require(params, "account", "type", "refresh_url", "return_url")
        if params["account"] not in self.accounts:
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such account: '{params['account']}'",
                "resource_missing",
                "account",
            )
        return {
            "object": "account_link",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
            "url": f"{self.url}/setup/e/{params['account']}/{secrets.token_hex(8)}",
        }

    def _list_transfers(self, params):
        found = [
            t
            for t in reversed(self.transfers)
            if "transfer_group" not in params or t["transfer_group"] == params["transfer_group"]
        ]
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "url": "/v1/transfers",
            "has_more": len(found) > limit,
            "data": copy.deepcopy(found[:limit]),
        }

    def _create_transfer(self, params):
        _require(params, "amount", "currency", "destination")
        if params["destination"] not in self.accounts:
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such destination: '{params['destination']}'",
                "resource_missing",
                "destination",
            )
        transfer = {
            "id": self.new_id("tr"),
            "object": "transfer",
            "amount": int(params["amount"]),
            "amount_reversed": 0,
            "currency": params["currency"],
            "description": params.get("description"),
            "destination": params["destination"],
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "reversed": False,
            "transfer_group": params.get("transfer_group"),
            "created": int(time.time()),
        }
        self.transfers.append(transfer)
        return copy.deepcopy(transfer)

    def _create_refund(self, params):
        _require(params, "payment_intent")
        intent = self.intents.get(params["payment_intent"])
        if intent is None:
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such payment_intent: '{params['payment_intent']}'",
                "resource_missing",
                "payment_intent",
            )
        amount = int(params.get("amount", intent["amount_received"]))
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "currency": intent["currency"],
            "metadata": params.get("metadata", {}),
            "payment_intent": intent["id"],
            "status": self.refund_status,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return copy.deepcopy(refund)

    # what happens at Stripe outside our calls

    def pay(self, session_id):
        """The payer completes the Checkout page: a PaymentIntent and its Charge exist; returns
        (the completed session, the intent, the charge) as Stripe's events carry them."""
        with self.lock:
            stored = self.sessions[session_id]
            session, params = stored["session"], stored["params"]
            intent_data = params.get("payment_intent_data", {})
            intent_id, charge_id = self.new_id("pi"), self.new_id("ch")
            metadata = intent_data.get("metadata", {})
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"],
                "currency": session["currency"],
                "latest_charge": charge_id,
                "livemode": False,
                "metadata": metadata,
                "status": "succeeded",
                "transfer_group": intent_data.get("transfer_group"),
                "created": int(time.time()),
            }
            charge = {
                "id": charge_id,
                "object": "charge",
                "amount": session["amount_total"],
                "amount_refunded": 0,
                "currency": session["currency"],
                "livemode": False,
                "metadata": dict(metadata),  # a PaymentIntent's charges carry its metadata
                "paid": True,
                "payment_intent": intent_id,
                "refunded": False,
                "status": "succeeded",
                "transfer_group": intent_data.get("transfer_group"),
                "created": int(time.time()),
            }
            session.update(payment_intent=intent_id, payment_status="paid", status="complete")
            self.intents[intent_id], self.charges[charge_id] = intent, charge
            return copy.deepcopy(session), copy.deepcopy(intent), copy.deepcopy(charge)

    def session_of(self, request):
        """The stored Checkout Session a create request made (after it was answered)."""
        with self.lock:
            for stored in self.sessions.values():
                if stored["params"] == request.params:
                    return copy.deepcopy(stored["session"])
        return None

    def refunded_charge(self, charge_id):
        """The charge as it is once every refund of its payment succeeded."""
        with self.lock:
            charge = copy.deepcopy(self.charges[charge_id])
            refunds = [
                r for r in self.refunds.values() if r["payment_intent"] == charge["payment_intent"]
            ]
            for refund in refunds:
                refund["status"] = "succeeded"
            charge["amount_refunded"] = sum(r["amount"] for r in refunds)
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            charge["refunds"] = {"object": "list", "data": copy.deepcopy(refunds)}
            return charge


def _require(params, *names):
    for name in names:
        if name not in params:
            raise StripeError(
                400, "invalid_request_error", f"Missing required param: {name}.", None, name
            )


def _error(status, kind, message):
    return {"error": {"type": kind, "message": message}}


class _Handler(http.server.BaseHTTPRequestHandler):
    stripe = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        release = self.stripe.release
        status, answer, hold = self.stripe.handle(
            method, self.path, self.headers, body, self._caller_gone
        )
        if status is None:
            self.close_connection = True
            return
        if hold:
            release.wait(hold)
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the caller gave up (a timeout) or was killed

    def _caller_gone(self):
        """Whether the caller closed its connection (killed) while waiting for the answer:
        it sends nothing more before the answer, so a readable socket means end of stream."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")


# --- webhook events ----------------------------------------------------------------------


def event(kind, obj, created=None):
    """An event as Stripe sends it to a webhook endpoint (a snapshot of ``obj``)."""
    return {
        "id": f"evt_test_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": created or int(time.time()),
        "data": {"object": copy.deepcopy(obj)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def checkout_session_completed(session):
    assert session["payment_status"] == "paid", "pay the session first (FakeStripe.pay)"
    return event("checkout.session.completed", session)


def payment_intent_succeeded(intent):
    return event("payment_intent.succeeded", intent)


def charge_refunded(charge):
    return event("charge.refunded", charge)


def charge_dispute_created(charge, reason="fraudulent"):
    dispute = {
        "id": f"dp_test_{secrets.token_hex(8)}",
        "object": "dispute",
        "amount": charge["amount"],
        "charge": charge["id"],
        "currency": charge["currency"],
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": "needs_response",
        "created": int(time.time()),
    }
    return event("charge.dispute.created", dispute)


def account_updated(account, payouts_enabled=True):
    account = dict(
        account,
        payouts_enabled=payouts_enabled,
        charges_enabled=payouts_enabled,
        details_submitted=payouts_enabled,
    )
    return event("account.updated", account)


def sign(payload, secret=WEBHOOK_SECRET, timestamp=None):
    """The ``Stripe-Signature`` header of ``payload`` (str) as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def post_event(client, evt, secret=WEBHOOK_SECRET, timestamp=None, signature=None):
    """POST ``evt`` to our webhook as Stripe does: JSON body, ``Stripe-Signature`` header
    (computed unless ``signature`` is given; ``signature=""`` sends none)."""
    payload = evt if isinstance(evt, str) else json.dumps(evt, indent=2)
    header = sign(payload, secret, timestamp) if signature is None else signature
    headers = {"Stripe-Signature": header} if header else {}
    return client.post(
        "/payments/stripe/webhook",
        data=payload.encode(),
        headers=headers,
        content_type="application/json; charset=utf-8",
    )
