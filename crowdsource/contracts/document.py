"""The printable contract document: a PDF in Chinese or English with the contract number, the
parties, the terms, the milestones and the fee split agreed at signing.

Chinese needs a font with its glyphs. A TrueType font (``CONTRACT_PDF_FONT``, else the first
one fontconfig lists for Chinese that reportlab can embed — Noto CJK's OpenType/CFF
collections it cannot) is embedded; without one, reportlab's built-in CID font STSong-Light is
used, which needs no file: PDF viewers bring its glyphs.
"""

import functools
import io
import logging
import pathlib
import re
import subprocess
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from crowdsource.contracts import signing
from crowdsource.contracts.models import Side
from crowdsource.db import utcnow
from crowdsource.money import format_bps, format_money
from crowdsource.payments import commission

log = logging.getLogger(__name__)

#: reportlab's built-in Chinese (simplified) font: no file, the viewer supplies the glyphs
BUILTIN_CJK_FONT = "STSong-Light"
#: languages the document is written in, by the short codes a link may ask for
LANGUAGES = {"zh": "zh_CN", "zh_CN": "zh_CN", "en": "en"}


# --- fonts -------------------------------------------------------------------------------


def font_name():
    """The registered name of the font the document is set in (registered on first use)."""
    return _font(current_app.config.get("CONTRACT_PDF_FONT") or "")


@functools.cache
def _font(configured):
    candidates = [configured] if configured else _system_cjk_fonts()
    for path in candidates:
        name = _register_truetype(path)
        if name is not None:
            return name
    if configured:
        log.warning(
            "CONTRACT_PDF_FONT %s is no TrueType font; using %s", configured, BUILTIN_CJK_FONT
        )
    pdfmetrics.registerFont(UnicodeCIDFont(BUILTIN_CJK_FONT))
    return BUILTIN_CJK_FONT


def _system_cjk_fonts():
    """Font files fontconfig knows to cover Chinese, TrueType (.ttf) before collections."""
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    paths = {line.strip().rstrip(":").strip() for line in listed.splitlines() if line.strip()}
    return sorted(paths, key=lambda path: (not path.lower().endswith(".ttf"), path))


def _register_truetype(path):
    """Register the TrueType font at ``path`` (the first of a collection); its name, or None
    when reportlab cannot embed it (CFF outlines, not a font, no such file)."""
    name = "Contract-" + re.sub(r"[^A-Za-z0-9]+", "", pathlib.Path(path).stem)[:40]
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except (TTFError, OSError, ValueError, KeyError):
        return None
    return name


# --- the document ------------------------------------------------------------------------


def language_of(requested, current):
    """The document's language: ``requested`` (zh, en) if given and known, else ``current``."""
    return LANGUAGES.get(requested or "", current)


def render(contract, language):
    """The contract document as PDF bytes, written in ``language`` (zh_CN or en)."""
    buffer = io.BytesIO()
    with force_locale(language):
        styles = _styles(font_name(), chinese=language.startswith("zh"))
        title = _("Contract %(number)s", number=contract.number)
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=18 * mm,
            bottomMargin=20 * mm,
            title=title,
            author="Crowdsource",
            lang="zh-CN" if language.startswith("zh") else "en",
            # the canvas starts in the document's font, not Helvetica (named, never embedded)
            initialFontName=styles["font"],
        )
        footer = _footer(styles, title, generated=format_datetime(utcnow(), "short"))
        document.build(_story(contract, styles), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _styles(font, chinese):
    wrap = "CJK" if chinese else None
    base = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap=wrap)
    return {
        "font": font,
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=1),
        "subtitle": ParagraphStyle("subtitle", parent=base, alignment=1, spaceAfter=8),
        "heading": ParagraphStyle(
            "heading", parent=base, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4
        ),
        "right": ParagraphStyle("right", parent=base, alignment=2),
    }


def _plain(text):
    """``text`` with the narrow and no-break spaces of locale formats made plain spaces (CJK
    fonts often lack their glyphs)."""
    return str(text).replace("\u202f", " ").replace("\u00a0", " ")


def _p(text, style):
    return Paragraph(escape(_plain(text)), style)


def _story(contract, styles):
    story = [
        _p(_("Technology contract"), styles["title"]),
        _p(contract.contract_type.label, styles["subtitle"]),
        _p(_("Contract number: %(number)s", number=contract.number), styles["body"]),
        _p(_("Signed on %(date)s", date=format_date(contract.signed_at, "long")), styles["body"]),
        _p(_("Status: %(status)s", status=contract.status.label), styles["body"]),
        _p(_("1. Parties"), styles["heading"]),
        _pairs(_parties(contract), styles),
        _p(_("2. Subject and terms"), styles["heading"]),
        _pairs(_terms(contract), styles),
        _p(_("3. Milestones"), styles["heading"]),
        _milestones(contract, styles),
        _p(_("4. Fees, as agreed at signing"), styles["heading"]),
        _fees(contract, styles),
        *_signatures(contract, styles),
        Spacer(1, 8 * mm),
        _p(
            _(
                "Each milestone is paid into escrow on the platform before its work starts and"
                " released to the payee when the enterprise accepts the delivery, less the fees"
                " above. Disputes are arbitrated by the innovation center free of charge."
            ),
            styles["small"],
        ),
    ]
    return story


def _parties(contract):
    rows = [
        (_("Enterprise"), contract.client_organization.name),
        (_("Solver"), contract.solver.display_name),
    ]
    if contract.agency is not None:
        rows.append((_("Agency"), contract.agency.name))
    rows += [(_("Payee"), contract.payee_name), (_("Innovation center"), contract.center.name)]
    return rows


def _terms(contract):
    return [
        (_("Task"), contract.task.title),
        (_("Contract type"), contract.contract_type.label),
        (_("Intellectual property"), contract.ip_terms.label),
        (_("Price"), f"{format_money(contract.price_fen)} ({contract.currency})"),
    ]


def _pairs(rows, styles):
    table = Table(
        [[_p(label, styles["body"]), _p(value, styles["body"])] for label, value in rows],
        colWidths=[45 * mm, 125 * mm],
    )
    table.setStyle(_grid(styles, header=False))
    return table


def _milestones(contract, styles):
    rows = [[_p(text, styles["body"]) for text in ("#", _("Milestone"), "", _("Due date"), "")]]
    rows[0][2] = _p(_("Amount"), styles["right"])
    rows[0][4] = _p(_("Status"), styles["body"])
    for milestone in contract.milestones:
        rows.append(
            [
                _p(milestone.position, styles["body"]),
                _p(milestone.title, styles["body"]),
                _p(format_money(milestone.amount_fen), styles["right"]),
                _p(format_date(milestone.due_date, "medium"), styles["body"]),
                _p(milestone.status.label, styles["body"]),
            ]
        )
    rows.append(
        [
            "",
            _p(_("Total"), styles["body"]),
            _p(format_money(contract.price_fen), styles["right"]),
            "",
            "",
        ]
    )
    table = Table(rows, colWidths=[10 * mm, 62 * mm, 32 * mm, 30 * mm, 36 * mm], repeatRows=1)
    table.setStyle(_grid(styles, header=True))
    return table


def _fees(contract, styles):
    split = commission.split_each([m.amount_fen for m in contract.milestones], contract.rates)
    client_fee = sum(m.due_fen for m in contract.milestones) - contract.price_fen
    rows = [
        (
            _(
                "Platform commission (%(rate)s of each released amount)",
                rate=format_bps(contract.commission_bps),
            ),
            split.commission,
        )
    ]
    if contract.brokerage_bps:
        rows.append(
            (
                _("Agency brokerage (%(rate)s)", rate=format_bps(contract.brokerage_bps)),
                split.brokerage,
            )
        )
    if contract.center_share_bps:
        rows.append(
            (
                _("Center share (%(rate)s)", rate=format_bps(contract.center_share_bps)),
                split.center_share,
            )
        )
    rows.append((_("To the payee"), split.payee))
    rows.append(
        (
            _(
                "Client-side fee paid by the enterprise on top (%(rate)s)",
                rate=format_bps(contract.client_fee_bps),
            ),
            client_fee,
        )
    )
    rows.append((_("Paid by the enterprise in all"), contract.price_fen + client_fee))
    table = Table(
        [
            [_p(label, styles["body"]), _p(format_money(fen), styles["right"])]
            for label, fen in rows
        ],
        colWidths=[130 * mm, 40 * mm],
    )
    table.setStyle(_grid(styles, header=False))
    return table


def _signatures(contract, styles):
    """The signatures: who signed for each side, when, from which address, and the SHA-256 of
    the document each signed; then whether the document and the terms still match it."""
    found = signing.check(contract)
    heading = _p(_("5. Signatures"), styles["heading"])
    if found is None:
        return [
            heading,
            _p(_("Formed at the award, before signatures were recorded."), styles["body"]),
        ]
    rows = [
        [
            _p(text, styles["small"])
            for text in (_("Side"), _("Signed by"), _("When"), _("From address"))
        ]
    ]
    sides = ((Side.CLIENT, _("Enterprise")), (Side.SOLVER, _("Winning side")))
    for side, label in sides:
        signature = found.signatures.get(side)
        if signature is None:
            continue
        rows.append(
            [
                _p(label, styles["small"]),
                _p(signature.user.display_name, styles["small"]),
                _p(format_datetime(signature.signed_at, "short"), styles["small"]),
                _p(signature.ip_address, styles["small"]),
            ]
        )
        rows.append(
            [
                "",
                _p(_("SHA-256 signed: %(hash)s", hash=signature.document_sha256), styles["small"]),
                "",
                "",
            ]
        )
    table = Table(rows, colWidths=[30 * mm, 55 * mm, 45 * mm, 40 * mm])
    table.setStyle(_grid(styles, header=True))
    for row in range(2, len(rows), 2):
        table.setStyle(TableStyle([("SPAN", (1, row), (3, row))]))
    if found.intact:
        verdict = _("Both sides signed this document, and the contract’s terms still match it.")
    elif not found.document_intact:
        verdict = _(
            "The document kept for this contract no longer has the SHA-256 its signatures name:"
            " it was changed after signing."
        )
    else:
        verdict = _(
            "The contract’s terms no longer match the document both sides signed: they were"
            " changed after signing."
        )
    return [
        heading,
        table,
        Spacer(1, 2 * mm),
        _p(
            _("SHA-256 of the document kept: %(hash)s", hash=found.document_sha256), styles["small"]
        ),
        _p(verdict, styles["body"]),
    ]


def _grid(styles, header):
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), styles["font"]),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    return TableStyle(commands)


def _footer(styles, title, generated):
    text = _("Generated by Crowdsource on %(when)s", when=generated)

    def draw(canvas, document):
        canvas.saveState()
        canvas.setFont(styles["font"], 8)
        canvas.drawString(20 * mm, 10 * mm, _plain(f"{title}  |  {text}"))
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, str(document.page))
        canvas.restoreState()

    return draw
