"""Keyword search that works for Chinese as well as English, through an index of terms.

A text's terms are its lower-cased Latin words and, for runs of Chinese characters, every
character and every pair of adjacent characters (the usual way to index text without word
boundaries). A query matches a task when every one of its terms does: a Latin word as a
prefix of a stored word, a Chinese run through its characters or pairs. Text and queries are
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
    conditions = []
    for token in _tokens(query):
        if _is_han(token):
            pairs = [token[i : i + 2] for i in range(len(token) - 1)] or [token]
            conditions.extend(TaskSearchTerm.term == pair for pair in pairs)
        else:
            word = token[:MAX_TERM_LENGTH]
            # A prefix match as a range, so that a plain b-tree index serves it everywhere.
            end = prefix_end(word)
            conditions.append(sa.and_(TaskSearchTerm.term >= word, TaskSearchTerm.term < end))
    return conditions[:MAX_QUERY_TERMS]


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


def matching(task_id_column, query):
    """A condition on ``task_id_column`` true for tasks whose text matches every query term,
    or None when the query has no terms."""
    conditions = _query_conditions(query)
    if not conditions:
        return None
    return sa.and_(
        *(
            task_id_column.in_(sa.select(TaskSearchTerm.task_id).where(condition))
            for condition in conditions
        )
    )
