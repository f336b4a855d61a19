"""Nothing but the chart of accounts (crowdsource/payments/chart.py) builds or parses an account
code: no string in the package's code (docstrings aside) starts like a code of a family, and no
code column or variable is taken apart or matched with string operations or ``LIKE``."""

import ast
import pathlib
import re

import crowdsource

PACKAGE = pathlib.Path(crowdsource.__file__).parent
CHART = PACKAGE / "payments" / "chart.py"
#: the start of a code of a family (``escrow:…``, ``payable:…``), also in a LIKE pattern or an
#: f-string's text; "escrow: …" in a sentence is not one
CODE_TEXT = re.compile(r"(?<![\w-])(escrow|payable|revenue|clearing|voucher):(?!\s)")
#: what takes codes apart or matches them
STRING_OPERATIONS = {
    "startswith",
    "endswith",
    "split",
    "rsplit",
    "partition",
    "rpartition",
    "removeprefix",
    "removesuffix",
    "like",
    "ilike",
    "not_like",
    "notlike",
    "contains",
    "regexp_match",
}


def _docstrings(tree):
    """The constant nodes that are docstrings (of the module, a class or a function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _names_a_code(node):
    """Whether an expression is an account code by its name: ``code``, ``x.code``,
    ``account_code``, ``LedgerAccount.code``."""
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name == "code" or name.endswith("_code")


def offences(path, root=PACKAGE):
    """Each string or call in the file that builds or parses a code: "file:line: what"."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and CODE_TEXT.search(node.value)
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in STRING_OPERATIONS
            and _names_a_code(node.func.value)
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: .{node.func.attr}()")
    return found


def package_files():
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != CHART and "migrations" not in path.relative_to(PACKAGE).parts
    ]


def test_no_code_outside_the_chart_builds_or_parses_an_account_code():
    found = [offence for path in package_files() for offence in offences(path)]
    assert found == [], "account codes belong to crowdsource.payments.chart:\n" + "\n".join(found)


def test_the_scan_finds_the_ways_codes_were_built_and_parsed_before_the_chart(tmp_path):
    path = tmp_path / "before.py"
    path.write_text(BEFORE, encoding="utf-8")
    found = sorted(offence.split(": ", 1)[1] for offence in offences(path, tmp_path))
    assert found == sorted(
        [
            "'revenue:commission'",
            "'escrow:milestone:'",
            "'clearing:'",
            ".startswith()",
            "'escrow:'",
            ".like()",
            "'payable:contract:%:agency'",
            ".rsplit()",
        ]
    )


#: how the package built and parsed codes before the chart (and a docstring and a sentence,
#: which are no codes)
BEFORE = '''
"""A docstring may say ``escrow:milestone:42``."""
COMMISSION_REVENUE = "revenue:commission"


def escrow_code(milestone):
    return f"escrow:milestone:{milestone.id}"


def clearing_code(provider):
    return f"clearing:{'bank' if provider == 'manual' else provider}"


def role_of(payout, code, LedgerAccount):
    message = "the money already left escrow: answer the dispute"
    if code.startswith("escrow:"):
        return "escrow"
    LedgerAccount.code.like("payable:contract:%:agency")
    return payout.account.code.rsplit(":", 1)[1]
'''
