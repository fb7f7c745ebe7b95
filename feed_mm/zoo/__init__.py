"""The benchmark zoo: protocols of teachers and settings x seeds, run
through the MMEngine runner, reported with statistics."""
from .protocol import Protocol, Setting, load_protocol, parse_protocol
from .report import collect_results, format_report
from .runner import plan_runs, run_protocol

__all__ = [
    'Protocol', 'Setting', 'load_protocol', 'parse_protocol', 'plan_runs',
    'run_protocol', 'collect_results', 'format_report'
]
