"""How the pages show stored codes: a call's offer and a proposal's submitted version."""

from moonvault.calls.models import Call, ProposalVersion
from moonvault.catalog.models import DIVISIBLE_FORMS, Form, Pool


def frozen_content(version: ProposalVersion, decided: dict | None = None) -> dict:
    """The version's stored text, with labels for codes and each item's decision if there is one."""
    decided = decided or {}
    content = dict(version.content)
    content["items"] = [
        {
            **item,
            "mission": item.get("mission__code", ""),
            "sample": item.get("sample__identifier") or "",
            "form_label": Form(item["form"]).label if item["form"] in Form.values else item["form"],
            "pool_label": Pool(item["pool"]).label if item["pool"] in Pool.values else item["pool"],
            "whole": item["form"] not in DIVISIBLE_FORMS,
            "decision": decided.get(item.get("id")),
        }
        for item in content.get("items", [])
    ]
    return content


def offer_labels(call: Call) -> dict[str, list[str]]:
    """The names of the pools and forms a call offers, for `calls/_call_facts.html`."""
    return {
        "pools": [str(label) for value, label in Pool.choices if value in call.pools],
        "sample_forms": [str(label) for value, label in Form.choices if value in call.forms],
    }
