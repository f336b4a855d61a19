"""Finding tasks: filters, keyword search in Chinese and English, sorting, pages, my tasks, and
a list page whose number of queries does not grow with the number of tasks."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crowdsource.accounts import credit_code, orgs, verification
from crowdsource.bids import offers
from crowdsource.db import db as _db
from crowdsource.db import transaction, utcnow
from crowdsource.lifecycle import SYSTEM
from crowdsource.tasks import search, services
from tests.helpers import BUILT_VERIFIED
from tests.tasks.helpers import LISTED, details_of, listed_ids


@pytest.fixture
def enterprise(make_user, make_org):
    owner = make_user()
    return owner, make_org(owner)


@pytest.fixture
def post(enterprise, make_task):
    """``post(title, **overrides)``: an open task with plain text of its own."""
    owner, organization = enterprise

    def make(title, **overrides):
        values = dict(
            title=title, summary="A challenge.", description="Details follow.", fields=[], skills=[]
        )
        values.update(overrides)
        return make_task(owner, organization, **values)

    return make


def ids(client, query=""):
    return listed_ids(client.get(f"/tasks{query}"))


def test_filter_by_contract_type(client, db, post):
    development = post("Gear design", contract_type="development")
    transfer = post("Patent transfer", contract_type="transfer")
    consulting = post("Process audit", contract_type="consulting")
    assert ids(client, "?contract_type=transfer") == [transfer.id]
    assert ids(client, "?contract_type=consulting") == [consulting.id]
    assert set(ids(client, "?contract_type=")) == {development.id, transfer.id, consulting.id}


def test_filter_by_center_includes_its_sub_centers(client, db, post, centers):
    qingdao = post("Harbour crane sensors", center_id=centers["qingdao"].id)
    laoshan = post("Tea processing line", center_id=centers["laoshan"].id)
    zibo = post("Ceramic kiln control", center_id=centers["zibo"].id)
    assert set(ids(client, f"?center_id={centers['qingdao'].id}")) == {qingdao.id, laoshan.id}
    assert ids(client, f"?center_id={centers['laoshan'].id}") == [laoshan.id]
    assert ids(client, f"?center_id={centers['zibo'].id}") == [zibo.id]
    assert set(ids(client, f"?center_id={centers['shandong'].id}")) == {
        qingdao.id,
        laoshan.id,
        zibo.id,
    }


def test_filter_by_budget_keeps_tasks_whose_range_overlaps(client, db, post):
    small = post("Small", budget_min_fen=1_000_000, budget_max_fen=2_000_000)  # ¥10k–20k
    middle = post("Middle", budget_min_fen=5_000_000, budget_max_fen=8_000_000)  # ¥50k–80k
    large = post("Large", budget_min_fen=10_000_000, budget_max_fen=20_000_000)  # ¥100k–200k
    assert set(ids(client, "?budget_min=60,000&budget_max=120,000")) == {middle.id, large.id}
    assert set(ids(client, "?budget_min=20000")) == {small.id, middle.id, large.id}
    assert set(ids(client, "?budget_min=20000.01")) == {middle.id, large.id}
    assert set(ids(client, "?budget_max=50000")) == {small.id, middle.id}
    assert ids(client, "?budget_min=90000&budget_max=95000") == []


def test_filter_by_status(client, db, enterprise, post, make_user, make_bid):
    owner, _ = enterprise
    open_task = post("Still open")
    closed = post("Bidding over")
    awarded = post("Already awarded")
    cancelled = post("Called off")
    post("Not yet published", publish=False)
    solver = make_user()
    make_bid(solver, closed)
    bid = make_bid(solver, awarded)
    with transaction():
        services.close_bidding(owner, closed)
        services.close_bidding(owner, awarded)
        offers.sign_both(owner, bid)
        services.cancel_task(owner, cancelled, "Budget frozen.")
    assert ids(client) == [open_task.id]
    assert ids(client, "?status=open") == [open_task.id]
    assert ids(client, "?status=closed") == [closed.id]
    assert ids(client, "?status=awarded") == [awarded.id]
    assert set(ids(client, "?status=all")) == {open_task.id, closed.id, awarded.id, cancelled.id}


def test_filter_by_skill_or_field_ignores_case(client, db, post):
    vision = post("Inspection", skills=["Machine Vision"], fields=["智能制造"])
    plc = post("Conveyor", skills=["PLC"], fields=["Logistics"])
    assert ids(client, "?skill=machine vision") == [vision.id]
    assert ids(client, "?skill=MACHINE VISION") == [vision.id]
    assert ids(client, "?skill=plc") == [plc.id]
    assert ids(client, "?skill=logistics") == [plc.id]
    assert ids(client, "?skill=智能制造") == [vision.id]
    assert ids(client, "?skill=machine") == []  # a tag, not a word in it


def test_keyword_search_finds_chinese_words_inside_phrases(client, db, post):
    vision = post("视觉检测系统", summary="用于PCB焊点")
    welding = post("焊接机器人工作站", description="六轴机器人")
    assert ids(client, "?q=检测") == [vision.id]
    assert ids(client, "?q=视觉检测") == [vision.id]
    assert ids(client, "?q=机器人") == [welding.id]
    assert ids(client, "?q=焊点") == [vision.id]  # in the summary
    assert ids(client, "?q=六轴") == [welding.id]  # in the description
    assert ids(client, "?q=视检") == []  # its characters, but not next to each other
    assert ids(client, "?q=激光切割") == []
    assert set(ids(client, "?q=检测 机器人")) == {vision.id, welding.id}  # one word each


def test_keyword_search_matches_english_word_prefixes(client, db, post):
    inspection = post("Solder joint inspection", summary="Machine vision for PCB lines.")
    welding = post("Robotic welding cell", description="Six-axis robots.")
    assert ids(client, "?q=insp") == [inspection.id]
    assert ids(client, "?q=INSPECTION") == [inspection.id]
    assert ids(client, "?q=robot") == [welding.id]
    assert ids(client, "?q=spection") == []  # not a word start
    assert ids(client, "?q=inspections") == []
    assert ids(client, "?q=pcb insp") == [inspection.id]
    assert set(ids(client, "?q=pcb weld")) == {inspection.id, welding.id}  # one word each


def test_tasks_matching_more_words_come_first_and_those_matching_none_are_absent(
    client, db, clock, post
):
    both = post("Solder joint inspection", summary="Machine vision for PCB lines.")
    clock.advance(minutes=1)
    one = post("Gearbox inspection", summary="Noise on the test bench.")
    clock.advance(minutes=1)
    other = post("Machine tending robot", summary="Loading a lathe.")
    clock.advance(minutes=1)
    neither = post("Ceramic kiln control", summary="Temperature curves.")
    # Newest first within a score, but every task matching both words before the others.
    assert ids(client, "?q=vision inspection") == [both.id, one.id]
    assert ids(client, "?q=inspection vision") == [both.id, one.id]
    assert ids(client, "?q=machine inspection") == [both.id, other.id, one.id]
    assert ids(client, "?q=machine inspection&sort=deadline")[0] == both.id
    assert ids(client, "?q=machine inspection kiln") == [both.id, neither.id, other.id, one.id]
    assert neither.id not in ids(client, "?q=vision inspection robot")
    assert ids(client, "?q=pottery glaze") == []


def test_chinese_words_rank_by_how_many_of_their_pairs_match(client, db, clock, post):
    full = post("视觉检测系统", summary="用于PCB焊点")
    clock.advance(minutes=1)
    half = post("焊缝检测", summary="超声波")
    clock.advance(minutes=1)
    post("激光切割机", summary="钣金加工")
    assert ids(client, "?q=视觉检测") == [full.id, half.id]
    assert ids(client, "?q=焊缝 视觉") == [half.id, full.id]  # newest first: one word each
    assert ids(client, "?q=焊点检测 视觉") == [full.id, half.id]
    assert ids(client, "?q=视检") == []  # its characters, but not next to each other


def test_keyword_search_finds_words_ending_in_9_or_z(client, db, post):
    audit = post("ISO 9001 audit 2019", summary="A quiz for the quality team.")
    post("Robotic welding cell", summary="Since 2020.")
    for query in ("2019", "201", "9001", "quiz", "qui", "audit"):
        assert ids(client, f"?q={query}") == [audit.id], query


@pytest.mark.postgresql
@pytest.mark.parametrize("collation", ["C", "en-US-x-icu"])
def test_prefix_ranges_hold_under_a_language_collation(db, collation):
    """Production databases often sort text as en_US does, not byte by byte as the tests' do."""
    known = sa.text("SELECT count(*) FROM pg_collation WHERE collname = :name")
    if not db.session.scalar(known, {"name": collation}):
        pytest.skip(f"PostgreSQL has no collation {collation}")
    words = ["2019", "quiz", "insp", "a9z", "zz"]
    terms = ["2019", "20190", "2019z", "201a", "2020", "quiz", "quizzes", "quj", "qui",
             "inspection", "insq", "a9z", "a9zz", "aa", "zz", "zzz", "z" * 40, "检测"]  # fmt: skip
    in_range = sa.text(
        f'SELECT CAST(:term AS text) COLLATE "{collation}" >= :word'
        f' AND CAST(:term AS text) COLLATE "{collation}" < :end'
    )
    for word in words:
        end = search.prefix_end(word)
        for term in terms:
            found = db.session.scalar(in_range, {"term": term, "word": word, "end": end})
            assert found == term.startswith(word), (word, term, end)


def test_keyword_search_treats_full_width_letters_as_ascii(client, db, post):
    """Chinese input methods often type full-width letters and digits."""
    pcb = post("PCB焊点检测", summary="ISO 9001 line.")
    wide = post("ＡＯＩ设备升级", summary="Automated optical inspection.")
    post("Robotic welding cell")
    assert ids(client, "?q=ＰＣＢ") == [pcb.id]
    assert ids(client, "?q=９００１") == [pcb.id]
    assert ids(client, "?q=aoi") == [wide.id]


def test_keyword_search_follows_edits(client, db, enterprise, post):
    owner, _ = enterprise
    task = post("Gearbox noise analysis", skills=["NVH"])
    with transaction():
        services.update_task(
            owner, task, details_of(task, title="齿轮箱振动分析", skills=["vibration"])
        )
    assert ids(client, "?q=gearbox") == []
    assert ids(client, "?q=振动") == [task.id]
    assert ids(client, "?skill=nvh") == []
    assert ids(client, "?skill=Vibration") == [task.id]


def test_sorting(client, db, post):
    now = utcnow()
    first = post(
        "First posted",
        bid_deadline=now + dt.timedelta(days=20),
        budget_min_fen=2_000_000,
        budget_max_fen=9_000_000,
    )
    second = post(
        "Second posted",
        bid_deadline=now + dt.timedelta(days=5),
        budget_min_fen=1_000_000,
        budget_max_fen=3_000_000,
    )
    third = post(
        "Third posted",
        bid_deadline=now + dt.timedelta(days=12),
        budget_min_fen=4_000_000,
        budget_max_fen=5_000_000,
    )
    assert ids(client) == [third.id, second.id, first.id]
    assert ids(client, "?sort=newest") == [third.id, second.id, first.id]
    assert ids(client, "?sort=deadline") == [second.id, third.id, first.id]
    assert ids(client, "?sort=budget_high") == [first.id, third.id, second.id]
    assert ids(client, "?sort=budget_low") == [second.id, first.id, third.id]


def test_pagination_shows_twenty_tasks_a_page(client, db, post):
    tasks = [post(f"Challenge {number}") for number in range(25)]
    newest_first = [task.id for task in reversed(tasks)]
    page_one = client.get("/tasks")
    assert "25 tasks found" in page_one.get_data(as_text=True)
    assert listed_ids(page_one) == newest_first[:20]
    assert ids(client, "?page=2") == newest_first[20:]
    assert ids(client, "?page=3") == []
    not_a_page = client.get("/tasks?page=abc")
    assert not_a_page.status_code == 400  # with a notice: tests/test_bad_input.py
    assert LISTED.findall(not_a_page.get_data(as_text=True)) == [str(i) for i in newest_first[:20]]
    assert 'href="/tasks?page=2"' in page_one.get_data(as_text=True)
    # The pager keeps the filters.
    page = client.get("/tasks?sort=deadline&q=challenge&page=2").get_data(as_text=True)
    assert 'href="/tasks?sort=deadline&amp;q=challenge&amp;page=1"' in page


def test_my_tasks_lists_the_organizations_drafts_too(
    client, db, enterprise, post, login, make_user, make_org, make_task, add_member
):
    owner, organization = enterprise
    draft = post("Unpublished draft", publish=False)
    published = post("Published task")
    other = make_user()
    foreign = make_task(other, make_org(other, name="Other Enterprise"), title="Foreign task")
    colleague = make_user()
    add_member(colleague, organization)
    for user in (owner, colleague):
        login(user)
        assert set(listed_ids(client.get("/tasks/mine"))) == {draft.id, published.id}
        assert draft.id not in ids(client, "?status=all")
    login(other)
    assert listed_ids(client.get("/tasks/mine")) == [foreign.id]
    client.post("/logout")
    assert client.get("/tasks/mine").status_code == 302


def count_queries(client, url):
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements), response


def enterprise_code(number):
    """A valid unified social credit code for the ``number``-th test enterprise."""
    first_seventeen = f"91370200{number:09d}"
    return first_seventeen + credit_code.check_character(first_seventeen)


def test_the_list_costs_the_same_queries_for_3_tasks_as_for_25(
    client, db, enterprise, centers, make_task, make_user, make_org, login, make_bid
):
    """Every task of its own enterprise and center, so that nothing is loaded per task."""
    owner, _ = enterprise
    solver, agency_owner = make_user(), make_user()
    agency = make_org(agency_owner, name="Qilu Transfer", kind="agency", ownership="private")
    places = list(centers.values())

    def add_tasks(first, count):
        for number in range(first, first + count):
            with transaction():
                organization = orgs.create_organization(
                    owner,
                    f"Enterprise {number}",
                    "enterprise",
                    None,
                    enterprise_code(number),
                    places[number % len(places)].id,
                )
                verification.vouch(SYSTEM, organization, BUILT_VERIFIED)
            task = make_task(owner, organization, title=f"Challenge {number}", skills=["PLC"])
            make_bid(solver, task)
            make_bid(agency_owner, task, agency=agency)

    add_tasks(0, 3)
    login(solver)
    client.get("/tasks")  # warm up: whatever is loaded once per process
    few, response = count_queries(client, "/tasks")
    assert len(listed_ids(response)) == 3
    add_tasks(3, 22)
    many, response = count_queries(client, "/tasks")
    page = response.get_data(as_text=True)
    assert len(listed_ids(response)) == 20
    assert "Enterprise 24" in page and "Laoshan District" in page and "2 bids" in page
    assert many == few, f"{few} queries for 3 tasks, {many} for 25"


def test_the_default_open_filter_says_so_and_one_click_shows_every_status(
    client, db, enterprise, post
):
    owner, _ = enterprise
    open_task = post("Gear inspection rig")
    cancelled = post("Gear noise study")
    with transaction():
        services.cancel_task(owner, cancelled, "Budget frozen.")
    page = client.get("/tasks?q=gear").get_data(as_text=True)
    assert "Showing open tasks only" in page
    assert 'href="/tasks?q=gear&amp;status=all"' in page
    assert set(ids(client, "?q=gear&status=all")) == {open_task.id, cancelled.id}
    everything = client.get("/tasks?q=gear&status=all").get_data(as_text=True)
    assert 'data-testid="status-hint"' not in everything
    assert "Showing awarded tasks only" in client.get("/tasks?status=awarded").get_data(
        as_text=True
    )


def test_an_empty_result_names_the_words_and_filters_and_offers_to_widen(
    client, db, enterprise, post
):
    owner, _ = enterprise
    cancelled = post("Kiln temperature control", contract_type="consulting")
    with transaction():
        services.cancel_task(owner, cancelled, "Budget frozen.")
    response = client.get("/tasks?q=kiln+glaze&contract_type=transfer&skill=ceramics")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No task matches any of the words “kiln glaze” with these filters." in page
    assert "Status: Open for bids" in page
    widen = page[page.index('data-testid="widen"') :]
    assert "Without the filter Contract type: Technology transfer" in widen
    assert 'href="/tasks?q=kiln+glaze&amp;skill=ceramics"' in widen  # without the type
    assert 'href="/tasks?q=kiln+glaze&amp;contract_type=transfer"' in widen  # without the skill
    assert 'href="/tasks?contract_type=transfer&amp;skill=ceramics"' in widen  # without words
    assert (
        'href="/tasks?q=kiln+glaze&amp;contract_type=transfer&amp;skill=ceramics&amp;status=all"'
        in widen
    )
    # Dropping the filters that exclude it finds the task.
    assert ids(client, "?q=kiln+glaze&status=all") == [cancelled.id]
    plain = client.get("/tasks?contract_type=transfer").get_data(as_text=True)
    assert "No task matches these filters." in plain and "search without words" not in plain
