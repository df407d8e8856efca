"""The Text panel's rich text for an encoder–decoder: one source decoded (greedy beside the
beam's candidates, against the truth) and each epoch's decodings of validation samples."""

from __future__ import annotations

import html
from typing import Any

GOOD_COLOR = "#15803d"
BAD_COLOR = "#b91c1c"
PROMPT_COLOR = "#8a8f98"


def translations_html(result: Any) -> str:
    """A probe result's rows (source, output, references, correct) as a table, green where right."""
    rows = []
    for row in result.data.get("rows", []):
        color = GOOD_COLOR if row.get("correct") else BAD_COLOR
        truth = " | ".join(row.get("references", [])[:3])
        rows.append(f'<tr><td style="color: {PROMPT_COLOR};">{html.escape(str(row["source"]))}</td>'
                    f'<td style="color: {color};"><b>{html.escape(row["output"] or "∅")}</b></td>'
                    f'<td style="color: {PROMPT_COLOR};">{html.escape(truth)}</td></tr>')
    return (f'<p style="color: {PROMPT_COLOR}; font-family: sans-serif;"><b>after step {result.step:,}</b> '
            '(greedy decoding; green = a true output)</p>'
            '<table cellspacing="0" cellpadding="3"><tr><th align="left">source</th><th align="left">decoded'
            '</th><th align="left">truth</th></tr>' + "".join(rows) + "</table>")


def decoded_html(decoded: Any) -> str:
    """Greedy and the beam's candidates with log P and score (``app.run_inspector.Decoded``)."""
    truths = set(decoded.references)

    def mark(text: str) -> str:
        if not truths:
            return html.escape(text or "∅")
        color = GOOD_COLOR if text in truths else BAD_COLOR
        return f'<span style="color: {color};">{html.escape(text or "∅")}</span>'

    greedy = decoded.greedy
    beam_rows = "".join(
        f"<tr><td align=right>{k + 1}.</td><td><b>{mark(c.text)}</b></td>"
        f"<td align=right>{c.log_prob:.3f}</td><td align=right>{c.score:.3f}</td></tr>"
        for k, c in enumerate(decoded.beam))
    truth = ""
    if decoded.references:
        scored = "" if decoded.truth_log_prob is None else f" (log P = {decoded.truth_log_prob:.3f})"
        truth = (f'<p><b>Truth</b>{scored}: ' + " &nbsp;|&nbsp; ".join(
            html.escape(r) for r in decoded.references) + "</p>")
    return (f'<p><b>Source</b>: {html.escape(decoded.source)}</p>{truth}'
            '<table width="100%" cellspacing="6"><tr>'
            f'<td valign="top" width="40%"><b>Greedy</b><br><b>{mark(greedy.text)}</b><br>'
            f'<span style="color: {PROMPT_COLOR};">log P = {greedy.log_prob:.3f}</span></td>'
            f'<td valign="top"><b>Beam search, width {decoded.beam_width}</b>'
            '<table cellspacing="0" cellpadding="2"><tr><th></th><th align=left>candidate</th>'
            '<th align=right>log P</th><th align=right>score</th></tr>'
            f"{beam_rows}</table></td></tr></table>")
