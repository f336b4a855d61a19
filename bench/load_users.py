"""The simulated people of bench/load.py: visitors, solvers, enterprises and center managers
who use the site over HTTP as a browser does — pages read, forms filled in with the CSRF token
the page carries, redirects seen (not followed blindly) — and who sometimes act on the same
thing at once (two members of an enterprise awarding, managers confirming the same transfer, a
solver's double click).

Every request is recorded by kind with its status and duration (:class:`Recorder`); every group
of simultaneous actions with how many of them succeeded (:class:`Collisions`).
"""

import collections
import dataclasses
import datetime as dt
import random
import re
import threading
import time
from html.parser import HTMLParser

import requests

#: seconds a request may take before it counts as timed out
REQUEST_TIMEOUT = 120

#: search words of the seeded tasks (see bench/load.py's seed)
KEYWORDS = ["vision", "coating", "sensor", "battery", "robot", "inspection"]


# --- recording ------------------------------------------------------------------------------


class Recorder:
    """Requests by kind: ``(status, seconds)``; status is the HTTP code, or "timeout" and
    "connection error" when no answer came."""

    def __init__(self):
        self._lock = threading.Lock()
        self.samples = collections.defaultdict(list)
        #: (kind, method, path, status, body excerpt) of every 5xx
        self.server_errors = []

    def add(self, kind, status, seconds, method=None, path=None, body=None):
        with self._lock:
            self.samples[kind].append((status, seconds))
            if isinstance(status, int) and status >= 500:
                self.server_errors.append((kind, method, path, status, (body or "")[:300]))


class Collisions:
    """Groups of the same action fired at once: how many of each group succeeded."""

    def __init__(self):
        self._lock = threading.Lock()
        self.groups = collections.defaultdict(list)  # kind -> [successes per group]

    def add(self, kind, successes):
        with self._lock:
            self.groups[kind].append(successes)


def together(*actions):
    """Run the callables at the same moment, each in its own thread; returns their results."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        barrier.wait()
        results[index] = action()

    threads = [
        threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- pages and forms ------------------------------------------------------------------------


@dataclasses.dataclass
class Form:
    action: str | None
    method: str
    fields: dict


class _FormParser(HTMLParser):
    """The forms of a page with the values a browser would send unchanged: hidden and text
    inputs, checked boxes, text areas, the selected (or first) option of each select."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._textarea, self._select = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._form = Form(attributes.get("action"), (attributes.get("method") or "get"), {})
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attributes.get("name")
        fields = self._form.fields
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            fields.setdefault(name, attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""
        elif tag == "select" and name:
            self._select = name
            fields[name] = None
        elif (
            tag == "option"
            and self._select
            and (fields[self._select] is None or "selected" in attributes)
        ):
            fields[self._select] = attributes.get("value", "")

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            if self._form is not None and self._form.fields.get(self._select) is None:
                self._form.fields[self._select] = ""
            self._select = None


def forms_of(html):
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_with(html, action_pattern=None, field=None):
    """The first form whose action matches ``action_pattern`` (a regex searched in it) or
    that has the field ``field``; None when the page has none."""
    for form in forms_of(html):
        if action_pattern is not None and not re.search(action_pattern, form.action or ""):
            continue
        if field is not None and field not in form.fields:
            continue
        return form
    return None


def actions_matching(html, pattern):
    """The forms whose action matches ``pattern``, with the regex's first group."""
    found = []
    for form in forms_of(html):
        match = re.search(pattern, form.action or "")
        if match:
            found.append((match.group(1), form))
    return found


# --- one person -------------------------------------------------------------------------------


class Person:
    """A browser of one person: its own cookies (session), its own client address."""

    def __init__(self, base_url, recorder, address):
        self.base_url, self.recorder = base_url, recorder
        self.http = requests.Session()
        # Each person its own address, as behind a proxy that sets X-Forwarded-For (the app
        # reads it only when told to trust one proxy: PROXY_COUNT=1).
        self.http.headers["X-Forwarded-For"] = address
        self.http.headers["Accept-Language"] = "en"
        # Sized for the concurrent requests of a collision.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8)
        self.http.mount("http://", adapter)

    def request(self, kind, method, path, **options):
        """The response, or None when none came (recorded as timeout or connection error)."""
        started = time.perf_counter()
        try:
            response = self.http.request(
                method,
                self.base_url + path,
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
                **options,
            )
        except requests.Timeout:
            self.recorder.add(kind, "timeout", time.perf_counter() - started)
            return None
        except requests.ConnectionError:
            self.recorder.add(kind, "connection error", time.perf_counter() - started)
            return None
        self.recorder.add(
            kind,
            response.status_code,
            time.perf_counter() - started,
            method,
            path,
            response.text if response.status_code >= 500 else None,
        )
        return response

    def get(self, kind, path, **options):
        return self.request(kind, "GET", path, **options)

    def post(self, kind, path, data):
        return self.request(kind, "POST", path, data=data)

    def page(self, kind, path):
        """The HTML of a page that answered 200, else None."""
        response = self.get(kind, path)
        return response.text if response is not None and response.status_code == 200 else None

    def submit(self, kind, path, form, **values):
        """POST ``form`` (as read from its page) to its action (else ``path``), with values
        changed as a person typing would; returns the response or None."""
        data = {name: value for name, value in form.fields.items() if value is not None}
        data.update(values)
        return self.post(kind, form.action or path, data)

    def login(self, email, password):
        html = self.page("login", "/login")
        form = html and form_with(html, field="password")
        if form is None:
            return False
        response = self.submit("login", "/login", form, email=email, password=password)
        return response is not None and response.status_code == 302


def succeeded(response):
    """A form's action done: the app redirects after a successful POST."""
    return response is not None and response.status_code == 302


def location_id(response, pattern):
    if not succeeded(response):
        return None
    match = re.search(pattern, response.headers.get("Location", ""))
    return int(match.group(1)) if match else None


# --- the market as the people know it -------------------------------------------------------


class Market:
    """What the seeding made (ids, e-mails) and what the people learn while they act: which
    tasks have bids, which tasks are ready to award, which contracts an enterprise has."""

    def __init__(self, seeded, password):
        self.password = password
        self.managers = seeded["managers"]
        self.solvers = seeded["solvers"]
        self.enterprises = [Enterprise(**data) for data in seeded["enterprises"]]
        self.open_tasks = [task for e in self.enterprises for task in e.open_tasks]
        self.hot_tasks = self.open_tasks[:: max(1, len(self.open_tasks) // 5)][:5]
        self.all_tasks = seeded["all_tasks"]
        self.budget = seeded["budget_yuan"]
        self._lock = threading.Lock()
        self._enterprise_of = {task: e for e in self.enterprises for task in e.open_tasks}

    def bid_placed(self, task_id):
        enterprise = self._enterprise_of.get(task_id)
        if enterprise is not None:
            with enterprise.lock:
                enterprise.bids[task_id] += 1


@dataclasses.dataclass
class Enterprise:
    users: list
    open_tasks: list
    ready_tasks: list
    contracts: list
    bids: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def task_to_close(self, minimum_bids):
        """An open task with enough bids, taken off the open list (or None)."""
        with self.lock:
            for task_id in self.open_tasks:
                if self.bids[task_id] >= minimum_bids:
                    self.open_tasks.remove(task_id)
                    return task_id
        return None

    def take_ready(self):
        with self.lock:
            return self.ready_tasks.pop(0) if self.ready_tasks else None

    def next_contract(self):
        with self.lock:
            if not self.contracts:
                return None
            self.contracts.append(self.contracts.pop(0))
            return self.contracts[-1]


# --- roles ----------------------------------------------------------------------------------


class Role:
    """One simulated client: a loop of actions with a think time between them."""

    kind = "client"

    def __init__(self, number, base_url, market, recorder, collisions, think, rng):
        self.number, self.base_url, self.market = number, base_url, market
        self.recorder, self.collisions = recorder, collisions
        self.think, self.rng = think, rng

    def person(self, extra=0):
        octets = self.number * 4 + extra
        return Person(
            self.base_url,
            self.recorder,
            f"10.{octets // 65536 % 256}.{octets // 256 % 256}.{octets % 256}",
        )

    def run(self, stop_at):
        self.start()
        while time.monotonic() < stop_at:
            self.step()
            if self.think:
                time.sleep(self.rng.uniform(0, 2 * self.think))

    def start(self):
        pass

    def step(self):
        raise NotImplementedError


class Visitor(Role):
    """Anonymous: the home page, the task list and its search, task pages, public statistics
    and the open-data API."""

    kind = "visitor"

    def start(self):
        self.me = self.person()

    def step(self):
        rng, market = self.rng, self.market
        task = rng.choice(market.all_tasks)
        choice = rng.random()
        if choice < 0.12:
            self.me.get("browse", "/")
        elif choice < 0.30:
            self.me.get("browse", f"/tasks?page={rng.randint(1, 5)}")
        elif choice < 0.40:
            self.me.get("browse", f"/tasks?q={rng.choice(KEYWORDS)}")
        elif choice < 0.62:
            self.me.get("browse", f"/tasks/{task}")
        elif choice < 0.70:
            self.me.get("stats", "/statistics")
        elif choice < 0.80:
            path = rng.choice(
                [
                    "/api/v1/stats/tasks-by-year",
                    "/api/v1/stats/contracts-by-type",
                    "/api/v1/stats/contracts-by-month",
                    "/api/v1/stats/years",
                ]
            )
            self.me.get("api", path)
        elif choice < 0.92:
            self.me.get("api", f"/api/v1/tasks?q={rng.choice(KEYWORDS)}&per_page=20")
        else:
            self.me.get("api", f"/api/v1/tasks/{task}")


class Solver(Role):
    """Logs in, reads tasks and bids on them through the bid form; now and then submits the
    same form twice at once (a double click); delivers milestones of its contracts."""

    kind = "solver"

    def start(self):
        self.email = self.market.solvers[self.number % len(self.market.solvers)]
        self.me = self.person()
        self.logged_in = self.me.login(self.email, self.market.password)
        self.bid_on = set()
        self.contracts = []
        self.steps = 0

    def step(self):
        if not self.logged_in:
            self.logged_in = self.me.login(self.email, self.market.password)
            return
        self.steps += 1
        choice = self.rng.random()
        if choice < 0.55:
            self.bid()
        elif choice < 0.75:
            self.deliver()
        elif choice < 0.85:
            self.me.get("page", "/bids/mine")
        elif choice < 0.92:
            self.me.get("page", "/notifications")
        else:
            self.me.get("browse", f"/tasks?q={self.rng.choice(KEYWORDS)}")

    def bid(self):
        market, rng = self.market, self.rng
        pool = market.hot_tasks if rng.random() < 0.3 else market.open_tasks
        candidates = [task for task in pool if task not in self.bid_on]
        if not candidates:
            candidates = [task for task in market.open_tasks if task not in self.bid_on]
        if not candidates:
            return
        task = rng.choice(candidates)
        self.bid_on.add(task)
        if self.me.page("browse", f"/tasks/{task}") is None:
            return
        html = self.me.page("page", f"/tasks/{task}/bid")
        form = html and form_with(html, field="price")
        if form is None:
            return  # bidding ended, or a bid of ours exists (redirected to its edit page)
        low, high = market.budget
        price = rng.randint(low, high)
        first = price // 2
        today = dt.date.today()
        values = {
            "price": str(price),
            "duration_days": str(rng.randint(30, 120)),
            "proposal": "We built a line like this last year; team of four, references on request.",
            "milestones-0-title": "Design and prototype",
            "milestones-0-amount": str(first),
            "milestones-0-due_date": (today + dt.timedelta(days=30)).isoformat(),
            "milestones-1-title": "Installation and acceptance",
            "milestones-1-amount": str(price - first),
            "milestones-1-due_date": (today + dt.timedelta(days=60)).isoformat(),
        }
        path = f"/tasks/{task}/bid"
        if rng.random() < 0.1:
            responses = together(
                lambda: self.me.submit("bid", path, form, **values),
                lambda: self.me.submit("bid", path, form, **values),
            )
            placed = sum(succeeded(r) for r in responses)
            self.collisions.add("bid, double click", placed)
        else:
            placed = int(succeeded(self.me.submit("bid", path, form, **values)))
        for _ in range(placed):
            market.bid_placed(task)

    def deliver(self):
        if not self.contracts or self.steps % 5 == 0:
            html = self.me.page("page", "/contracts")
            if html is not None:
                self.contracts = sorted(set(re.findall(r'href="/contracts/(\d+)"', html)))
        if not self.contracts:
            return
        contract = self.rng.choice(self.contracts)
        html = self.me.page("page", f"/contracts/{contract}")
        found = html and actions_matching(html, r"/milestones/(\d+)/deliver$")
        if not found:
            return
        _, form = found[0]
        self.me.submit("deliver", form.action, form, note="Delivered as agreed: report attached.")


class EnterpriseMember(Role):
    """Logs in as a member of an enterprise (and, for the races, as its other member too):
    ends bidding on tasks that have bids, awards a bid — sometimes both members at once, on
    different bids —, pays milestones into escrow and accepts deliveries."""

    kind = "enterprise"

    def start(self):
        enterprises = self.market.enterprises
        self.enterprise = enterprises[self.number % len(enterprises)]
        users = self.enterprise.users
        first = (self.number // len(enterprises)) % len(users)
        self.me, self.partner = self.person(), self.person(1)
        self.emails = users[first], users[(first + 1) % len(users)]
        self.logged_in = self.me.login(self.emails[0], self.market.password)
        self.partner_in = self.partner.login(self.emails[1], self.market.password)

    def step(self):
        if not self.logged_in:
            self.logged_in = self.me.login(self.emails[0], self.market.password)
            return
        choice = self.rng.random()
        if choice < 0.30:
            self.award()
        elif choice < 0.42:
            self.close_bidding()
        elif choice < 0.85:
            self.work_on_contract()
        elif choice < 0.93:
            self.me.get("page", "/tasks/mine")
        else:
            self.me.get("page", "/notifications")

    def close_bidding(self):
        task = self.enterprise.task_to_close(minimum_bids=3)
        if task is None:
            return
        html = self.me.page("page", f"/tasks/{task}")
        form = html and form_with(html, rf"/tasks/{task}/close$")
        if form is not None and succeeded(self.me.submit("close", form.action, form)):
            with self.enterprise.lock:
                self.enterprise.ready_tasks.append(task)

    def award(self):
        task = self.enterprise.take_ready()
        if task is None:
            return self.close_bidding()
        html = self.me.page("page", f"/tasks/{task}/bids")
        offers = html and actions_matching(html, r"/bids/(\d+)/award$")
        if not offers:
            return
        theirs_page = None
        if self.partner_in and len(offers) > 1 and self.rng.random() < 0.5:
            # The other member has the same page open (with the CSRF token of its session).
            theirs_page = self.partner.page("page", f"/tasks/{task}/bids")
        theirs_offers = (
            dict(actions_matching(theirs_page, r"/bids/(\d+)/award$")) if theirs_page else {}
        )
        if len(theirs_offers) > 1:
            (_, mine), (other, _) = self.rng.sample(offers, 2)
            theirs = theirs_offers.get(other) or next(iter(theirs_offers.values()))
            responses = together(
                lambda: self.me.submit("award", mine.action, mine),
                lambda: self.partner.submit("award", theirs.action, theirs),
            )
            self.collisions.add("award, two members", sum(succeeded(r) for r in responses))
        else:
            _, offer = self.rng.choice(offers)
            responses = [self.me.submit("award", offer.action, offer)]
        for response in responses:
            contract = location_id(response, r"/contracts/(\d+)")
            if contract is not None:
                with self.enterprise.lock:
                    self.enterprise.contracts.append(contract)

    def work_on_contract(self):
        contract = self.enterprise.next_contract()
        if contract is None:
            return
        html = self.me.page("page", f"/contracts/{contract}")
        if html is None:
            return
        accept = actions_matching(html, r"/milestones/(\d+)/accept$")
        if accept:
            milestone, form = accept[0]
            theirs = None
            if self.partner_in and self.rng.random() < 0.3:
                # The other member has the contract open too.
                page = self.partner.page("page", f"/contracts/{contract}")
                found = dict(actions_matching(page, r"/milestones/(\d+)/accept$")) if page else {}
                theirs = found.get(milestone)
            if theirs is not None:
                responses = together(
                    lambda: self.me.submit("release", form.action, form),
                    lambda: self.partner.submit("release", theirs.action, theirs),
                )
                self.collisions.add("release, two members", sum(succeeded(r) for r in responses))
            else:
                self.me.submit("release", form.action, form)
            return
        fund = actions_matching(html, r"/milestones/(\d+)/fund$")
        if fund:
            _, form = fund[0]
            response = self.me.submit("fund", form.action, form)
            if succeeded(response):
                self.me.get("page", response.headers["Location"].replace(self.base_url, ""))


class Manager(Role):
    """A manager of the center: opens the transfers to confirm (oldest first, as every other
    manager sees them) and records one as received — managers race on the same transfer, and
    a double click sends the form twice; looks at the dashboard."""

    kind = "manager"

    def start(self):
        self.email = self.market.managers[self.number % len(self.market.managers)]
        self.me = self.person()
        self.logged_in = self.me.login(self.email, self.market.password)

    def step(self):
        if not self.logged_in:
            self.logged_in = self.me.login(self.email, self.market.password)
            return
        choice = self.rng.random()
        if choice < 0.8:
            self.confirm()
        else:
            self.me.get("stats", "/statistics/dashboard")

    def confirm(self):
        html = self.me.page("page", "/manage/payments")
        if html is None:
            return
        transfers = []
        for card in html.split('data-testid="transfer"')[1:]:
            amount = re.search(r"¥([\d,]+\.\d\d)", card)
            found = actions_matching(card, r"/fundings/(\d+)/confirm$")
            if amount and found:
                transfers.append((amount.group(1).replace(",", ""), found[0][1]))
        if not transfers:
            return
        amount, form = self.rng.choice(transfers[:3])
        values = {"amount": amount, "bank_reference": f"ICBC-{self.rng.randrange(10**9):09d}"}
        if self.rng.random() < 0.2:
            responses = together(
                lambda: self.me.submit("confirm", form.action, form, **values),
                lambda: self.me.submit("confirm", form.action, form, **values),
            )
            self.collisions.add("confirm, double click", sum(succeeded(r) for r in responses))
        else:
            self.me.submit("confirm", form.action, form, **values)


#: shares of the clients, in order
ROLES = [(Visitor, 0.40), (Solver, 0.35), (EnterpriseMember, 0.15), (Manager, 0.10)]


def cast(clients):
    """The role of each of ``clients`` clients, by the shares of ROLES (at least one each)."""
    counts = [max(1, round(clients * share)) for _, share in ROLES]
    counts[0] = max(1, clients - sum(counts[1:]))
    roles = []
    for (role, _), count in zip(ROLES, counts, strict=True):
        roles += [(role, number) for number in range(count)]
    return roles


def seeded_rng(seed, *parts):
    return random.Random(f"{seed}:{':'.join(map(str, parts))}")
