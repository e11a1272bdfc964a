"""`Data`: the field of start, form and event data, bounded before marshmallow walks it.

marshmallow's Dict deserialises every key (seconds for 500,000 keys); the services' own bound
(`limits.check_data`: depth, keys and items, string length, bytes) runs first, stops counting at
the limit, and its refusal (400 `data_too_large` / `data_too_deep` naming the field) goes out as
the service's would."""
from __future__ import annotations

from marshmallow import fields

from orchestrator.extensions import db
from orchestrator.services import limits


class Data(fields.Dict):
    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            limits.check_data(db.session, value, self.data_key or self.name or "data")
        return super()._deserialize(value, attr, data, **kwargs)
