"""Workflow state to JSON and back, without the spec (it comes from the version's cache)."""
from __future__ import annotations

import json
from uuid import UUID
from copy import deepcopy

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .specs import SpecBundle


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of every dossier's state: it is per version, cached, immutable."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        bundle: SpecBundle = dct.pop("__bundle__")
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _serializer(config: dict) -> BpmnWorkflowSerializer:
    config = deepcopy(config)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZERS = {"spiff": _serializer(SPIFF_CONFIG), "camunda": _serializer(CAMUNDA_CONFIG)}


def dumps(workflow: BpmnWorkflow, dialect: str) -> str:
    serializer = _SERIALIZERS[dialect]
    serializer.registry._encoder_mode = True
    try:
        dct = serializer.to_dict(workflow)
        dct[serializer.VERSION_KEY] = serializer.VERSION
        return json.dumps(dct, cls=serializer._encoder_cls, separators=(",", ":"))
    finally:
        serializer.registry._encoder_mode = False


def loads(state: str, bundle: SpecBundle) -> BpmnWorkflow:
    serializer = _SERIALIZERS[bundle.dialect]
    dct = json.loads(state, cls=serializer.json_decoder_cls)
    serializer.migrate(dct)
    dct["__bundle__"] = bundle
    return serializer.from_dict(dct)
