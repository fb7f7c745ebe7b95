from .cli import load_config, run_cli

__all__ = ['load_config', 'run_cli']
