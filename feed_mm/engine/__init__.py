from .loops import FEEDTestLoop, FEEDValLoop

__all__ = ['FEEDValLoop', 'FEEDTestLoop']
