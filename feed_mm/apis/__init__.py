from .cli import load_config, run_cli
from .export import export_student, student_state_dict

__all__ = ['load_config', 'run_cli', 'export_student', 'student_state_dict']
