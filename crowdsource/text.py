"""User text: Markdown rendered to HTML and cleaned by a sanitizer (nh3)."""

import markdown as markdown_lib
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}


def split_tags(text, limit=None):
    """Tags from comma-separated text (also Chinese commas and 、), deduplicated ignoring case."""
    tags = []
    for part in (text or "").replace("，", ",").replace("、", ",").split(","):
        tag = part.strip()
        if tag and tag.lower() not in (existing.lower() for existing in tags):
            tags.append(tag)
    return tags[:limit] if limit else tags


def render_markdown(text):
    """Safe HTML for the Markdown ``text``: no scripts, styles, images or foreign attributes."""
    html = markdown_lib.markdown(text or "", extensions=["tables", "fenced_code", "sane_lists"])
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(cleaned)
