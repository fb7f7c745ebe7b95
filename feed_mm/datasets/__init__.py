from .sklearn_digits import SklearnDigits

__all__ = ['SklearnDigits']
