from .feed_translator import (FEEDTranslator, fused_translate, fusion_key,
                              translate_all, translator_channels)

__all__ = [
    'FEEDTranslator', 'fused_translate', 'fusion_key', 'translate_all',
    'translator_channels'
]
