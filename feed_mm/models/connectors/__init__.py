from .feed_translator import FEEDTranslator

__all__ = ['FEEDTranslator']
