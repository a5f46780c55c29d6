"""The report to the supervisory authority: the contents of GDPR Art. 33(3) (a)-(d), the 72-hour timeline with
the reasons for any delay (Art. 33(1)), the phases in which information was given (Art. 33(4)) and where the
notices to subjects stand (Art. 34), as JSON and as a self-contained HTML page (escaped, no script)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .model import Breach

FORMAT = "shopprivacy.breach-report/1"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def report_data(breach: Breach, events: Sequence[Mapping[str, Any]], notices: Mapping[str, int],
                now: datetime) -> dict[str, Any]:
    """The report as a JSON-able mapping."""
    incident = breach.incident
    assessment = breach.assessment or {}
    computed = assessment.get("counts")
    return {
        "format": FORMAT,
        "breach": breach.id,
        "controller": incident.controller,
        "generated_at": now.isoformat(),
        "art_33_3": {
            "a_nature": {
                "description": incident.nature,
                "kinds": list(incident.kinds),
                "categories_of_data": list(incident.data_categories),
                "categories_of_subjects": list(incident.subject_categories),
                "approximate_subjects": incident.approx_subjects if incident.approx_subjects is not None
                else (computed or {}).get("subjects"),
                "approximate_records": incident.approx_records,
                "computed_from_the_register": computed,
            },
            "b_contact_point": incident.contact,
            "c_likely_consequences": incident.consequences,
            "d_measures_taken_or_proposed": incident.measures,
        },
        "timeline": {
            "occurred_from": _iso(incident.occurred_from),
            "occurred_until": _iso(incident.occurred_until),
            "aware_at": _iso(breach.aware_at),
            "authority_due_at": _iso(breach.authority_due_at),
            "authority": breach.authority,
            "reported_at": _iso(breach.reported_at),
            "report_reference": breach.report_reference,
            "reasons_for_delay": breach.delay_reason,
            "no_report_reason": breach.not_required_reason,
            "overdue": breach.overdue(now),
        },
        "art_34": {
            "high_risk": incident.high_risk,
            "exemption": breach.exemption,
            "notices": dict(sorted(notices.items())),
        },
        "scope": {"stores": assessment.get("stores", {}), "audit_window": assessment.get("audit"),
                  "keys_compromised": incident.scope.keys_compromised,
                  "computed_at": assessment.get("computed_at")},
        "phases": list(events),
    }


def report_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(html.escape(str(v)) for v in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in value.items()) or "—"
    return html.escape(str(value))


def _table(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th scope=\"row\">{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in rows)
    return f"<h2>{html.escape(title)}</h2><table>{body}</table>"


def report_html(data: Mapping[str, Any]) -> str:
    """The report as one HTML page: every value escaped, no script, no external resource."""
    a = data["art_33_3"]["a_nature"]
    art = data["art_33_3"]
    t, n = data["timeline"], data["art_34"]
    parts = [
        _table("Art. 33(3)(a) Nature of the breach", [
            ("Description", a["description"]), ("Kind", a["kinds"]), ("Categories of data", a["categories_of_data"]),
            ("Categories of data subjects", a["categories_of_subjects"]),
            ("Approximate number of data subjects", a["approximate_subjects"]),
            ("Approximate number of records", a["approximate_records"]),
            ("Computed by the register", a["computed_from_the_register"])]),
        _table("Art. 33(3)(b) Contact point", [("Name and contact details", art["b_contact_point"])]),
        _table("Art. 33(3)(c) Likely consequences", [("Consequences", art["c_likely_consequences"])]),
        _table("Art. 33(3)(d) Measures taken or proposed", [("Measures", art["d_measures_taken_or_proposed"])]),
        _table("Timeline (Art. 33(1))", [
            ("Occurred from", t["occurred_from"]), ("Occurred until", t["occurred_until"]),
            ("Controller aware at", t["aware_at"]), ("Report due by (72 hours)", t["authority_due_at"]),
            ("Authority", t["authority"]), ("Reported at", t["reported_at"]),
            ("Authority's reference", t["report_reference"]), ("Reasons for the delay", t["reasons_for_delay"]),
            ("Why no report is due", t["no_report_reason"])]),
        _table("Communication to data subjects (Art. 34)", [
            ("Likely high risk", n["high_risk"]), ("Exemption", n["exemption"]), ("Notices", n["notices"])]),
    ]
    stores = data["scope"]["stores"]
    if stores:
        parts.append(_table("Stores in scope", [
            (name, [f"{f['field']} ({f['protection']})" for f in info["fields"]]
             + [f"{info['subjects']} subject(s)", f"{info['records']} record(s)"]) for name, info in stores.items()]))
    phases = "".join(f"<tr><td>{_cell(e['at'])}</td><td>{_cell(e['actor'])}</td><td>{_cell(e['action'])}</td>"
                     f"<td>{_cell(e['changed'])}</td></tr>" for e in data["phases"])
    parts.append("<h2>Phases (Art. 33(4))</h2><table><tr><th>At</th><th>Actor</th><th>Step</th><th>Changed</th></tr>"
                 f"{phases}</table>")
    title = f"Personal data breach {data['breach']} — {data['controller']}"
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<p>Generated {html.escape(data['generated_at'])}.</p>{''.join(parts)}</body></html>\n")
