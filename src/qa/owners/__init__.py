"""Who owns a measure: organisations, their roles, and inherited ownership.

    extract  — the organisations one clause names and the role each plays
    map      — the responsibility map over all clauses; `who`, `org_report`
    answer   — ownership questions in chat (an `Answerer`)
    render   — JSON, CSV and text views for the CLI and the UI
"""
