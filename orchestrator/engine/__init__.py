"""Everything that touches SpiffWorkflow. Nothing outside this package imports it."""
from .model import MILESTONES, OUTCOMES, SUPPORT, drawing, parse_route, process_labels
from .problems import DiagramRejected, Problem
from .runner import EngineIncident, HumanTask, StateTooLarge, TaskNotReady, WorkflowRun
from .simulate import Simulation, dry_run, simulate
from .specs import SpecBundle, build_spec, bundle_for, spec_cache
from .validation import (
    DEFAULT_ROUTE, Checked, check_diagram, lane_paths, lane_warnings, mapping_keys, mark_executable, process_warnings,
    sample_data, step_paths,
)
from .xml import parse_trusted
from . import decisions

__all__ = [
    "DEFAULT_ROUTE", "MILESTONES", "decisions", "OUTCOMES", "SUPPORT", "Checked", "DiagramRejected", "EngineIncident", "HumanTask",
    "Problem", "Simulation", "SpecBundle", "StateTooLarge", "TaskNotReady", "WorkflowRun", "build_spec", "bundle_for", "check_diagram",
    "drawing", "dry_run", "lane_paths", "lane_warnings", "mapping_keys", "mark_executable", "parse_route", "parse_trusted",
    "process_labels", "process_warnings", "sample_data", "simulate", "spec_cache", "step_paths",
]
