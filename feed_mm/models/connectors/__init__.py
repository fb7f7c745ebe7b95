from .feed_translator import FEEDTranslator, translator_channels

__all__ = ['FEEDTranslator', 'translator_channels']
