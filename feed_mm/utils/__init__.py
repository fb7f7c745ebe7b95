from .errors import FEEDConfigError

__all__ = ['FEEDConfigError']
