"""The rules of `POST /image`'s variant lists that JSON Schema cannot state: the names in one list are unique and
none is `original`, `status`, `variants` or `events` (the sub-resources of `/image/{id}`). The document's
description says so; this hook keeps schemathesis's generated requests to it, so that a refusal of any other
schema-valid request is still a finding. Loaded with SCHEMATHESIS_HOOKS by the system suite's contract test."""

import json

import schemathesis

RESERVED = {"original", "status", "variants", "events"}


def names(variants):
    """The variant names of a compact list, a JSON list, or a JSON list in a string."""
    if isinstance(variants, list):
        return [item.get("name") for item in variants if isinstance(item, dict)]
    if isinstance(variants, str):
        text = variants.strip()
        if text.startswith("["):
            try:
                return names(json.loads(text))
            except ValueError:
                return []
        return [item.split(":", 1)[0].strip() for item in text.split(",") if item.strip()]
    return []


def unique_and_free(variants):
    listed = names(variants)
    if not all(isinstance(name, str) for name in listed):
        return True  # Not a name at all: schema-invalid, for the server to refuse.
    return len(listed) == len(set(listed)) and not RESERVED.intersection(listed)


@schemathesis.hook
def filter_case(context, case):
    if case.operation.method.upper() != "POST" or case.operation.path != "/image":
        return True
    sources = [case.query or {}]
    if isinstance(case.body, dict):
        sources.append(case.body)
    return all(unique_and_free(source["variants"]) for source in sources if "variants" in source)
