"""Keyword search that works for Chinese as well as English, through an index of terms.

A text's terms are its lower-cased Latin words and, for runs of Chinese characters, every
character and every pair of adjacent characters (the usual way to index text without word
boundaries). A query's terms are its Latin words (each matching as a prefix of a stored word)
and the pairs of its Chinese runs (a single character alone). A task matches when at least one
term does, and ranks by how many do: a task matching every word comes first, one matching none
is not listed. Text and queries are
NFKC-normalized first: full-width letters and digits typed with a Chinese input method
("ＰＣＢ") are the ASCII ones.
"""

import re
import unicodedata

import sqlalchemy as sa

from crowdsource.tasks.models import TaskSearchTerm

TOKEN = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\uf900-\ufaff]+")
#: the characters of a Latin word term, in order
WORD_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_TERM_LENGTH = 40
MAX_QUERY_TERMS = 12


def _is_han(token):
    return not token[0].isascii()


def _tokens(text):
    return TOKEN.findall(unicodedata.normalize("NFKC", text or "").lower())


def terms_of(*texts):
    """The set of index terms of some texts."""
    terms = set()
    for text in texts:
        for token in _tokens(text):
            if _is_han(token):
                terms.update(token)
                terms.update(token[i : i + 2] for i in range(len(token) - 1))
            else:
                terms.add(token[:MAX_TERM_LENGTH])
    return terms


def _query_conditions(query):
    """One condition on the term index per distinct term of the query (at most
    MAX_QUERY_TERMS)."""
    conditions = {}
    for token in _tokens(query):
        if _is_han(token):
            pairs = [token[i : i + 2] for i in range(len(token) - 1)] or [token]
            for pair in pairs:
                conditions.setdefault(pair, TaskSearchTerm.term == pair)
        else:
            word = token[:MAX_TERM_LENGTH]
            # A prefix match as a range, so that a plain b-tree index serves it everywhere.
            end = prefix_end(word)
            conditions.setdefault(
                word, sa.and_(TaskSearchTerm.term >= word, TaskSearchTerm.term < end)
            )
    return list(conditions.values())[:MAX_QUERY_TERMS]


def prefix_end(word):
    """A word after every term that starts with ``word`` and before every other term after it.

    Stepping through digits and letters only keeps the range right under any collation; the
    next code point ("2019" → "201:", "quiz" → "qui{") is punctuation, which collations such as
    en_US sort before letters and digits or ignore, making the range empty.
    """
    for position in range(len(word) - 1, -1, -1):
        if word[position] != WORD_CHARACTERS[-1]:
            following = WORD_CHARACTERS[WORD_CHARACTERS.index(word[position]) + 1]
            return word[:position] + following
    # "zz": just after the longest term starting with it (Chinese terms sort after it)
    return word.ljust(MAX_TERM_LENGTH, WORD_CHARACTERS[-1]) + WORD_CHARACTERS[0]


def scores(query):
    """A subquery of ``(task_id, score)``: every task matching at least one term of the query,
    with the number of its terms it matches; None when the query has no terms.

    One scan of the term index per term, grouped once: the list costs the same queries however
    many tasks match.
    """
    conditions = _query_conditions(query)
    if not conditions:
        return None
    hits = sa.union_all(
        *(
            sa.select(TaskSearchTerm.task_id.label("task_id"), sa.literal(number).label("term"))
            .where(condition)
            .distinct()
            for number, condition in enumerate(conditions)
        )
    ).subquery("hits")
    return (
        sa.select(hits.c.task_id, sa.func.count(sa.distinct(hits.c.term)).label("score"))
        .group_by(hits.c.task_id)
        .subquery("scores")
    )


def ranked(select, task_id_column, query):
    """``select`` narrowed to the tasks matching the query, best matches first (the caller's
    order follows within the same score); unchanged when the query has no terms."""
    matches = scores(query)
    if matches is None:
        return select
    return select.join(matches, matches.c.task_id == task_id_column).order_by(
        matches.c.score.desc()
    )
