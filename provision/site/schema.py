"""The site file's JSON Schema, for editors; a committed copy lives in sites/schema.json."""

from __future__ import annotations

from typing import Any

from provision.site.model import Site

SCHEMA_ID = "https://provision.example.nhs.uk/schema/site.json"


def site_json_schema() -> dict[str, Any]:
    schema = Site.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **schema}
