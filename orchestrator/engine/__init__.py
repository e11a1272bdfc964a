"""Everything that touches SpiffWorkflow. Nothing outside this package imports it."""
from .model import MILESTONES, parse_route
from .problems import DiagramRejected, Problem
from .runner import EngineIncident, HumanTask, TaskNotReady, WorkflowRun
from .specs import SpecBundle, build_spec, bundle_for, spec_cache
from .validation import Checked, check_diagram, dry_run, lane_paths, lane_warnings, sample_data
from .xml import parse_trusted

__all__ = [
    "MILESTONES", "Checked", "DiagramRejected", "EngineIncident", "HumanTask", "Problem", "SpecBundle",
    "TaskNotReady", "WorkflowRun", "build_spec", "bundle_for", "check_diagram", "dry_run", "lane_paths", "lane_warnings",
    "parse_route", "parse_trusted", "sample_data", "spec_cache",
]
