from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmrazor.models.architectures.connectors.base_connector import \
    BaseConnector
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError


def translator_channels(in_channels: int, out_channels: int, num_convs: int,
                        hidden_channels: Optional[int]) -> List[int]:
    """Output channels of each conv of a translator.

    The spec's layout C_s -> C_s -> C_t -> C_t generalises to: the first
    ``num_convs // 2`` convs keep the student's width, the rest produce the
    teacher's. ``hidden_channels`` replaces the width of every conv but the
    last.
    """
    if hidden_channels is not None:
        return [hidden_channels] * (num_convs - 1) + [out_channels]
    return [
        in_channels if i < num_convs // 2 else out_channels
        for i in range(num_convs)
    ]


@MODELS.register_module()
class FEEDTranslator(BaseConnector):
    """FEED's per-teacher non-linear transformation ("translator"), which
    maps the student's feature map towards one teacher's.

    By default it is Factor Transfer's official translator as FEED uses it:
    three 3x3 convolutions (stride 1, padding 1, with bias) with channels
    C_s -> C_s -> C_t -> C_t, each followed by LeakyReLU(0.1), and no
    normalisation layer. ``norm_cfg=dict(type='BN')`` gives MMRazor's
    ``Translator`` (same layer order and parameter order). Translators are
    used only in training; the exported student does not contain them.

    Args:
        in_channels (int): Channels of the student's feature map (C_s).
            When FEEDDistill builds the translator this is inferred from the
            student; an explicit value is checked against the model.
        out_channels (int): Channels of the teacher's feature map (C_t);
            inferred and checked the same way.
        num_convs (int): Number of convolutions. Defaults to 3.
        hidden_channels (int, optional): Width of every conv but the last.
            Defaults to None (the C_s/C_t layout above).
        kernel_size (int): Conv kernel size (odd; padding keeps the spatial
            size). Defaults to 3.
        norm_cfg (dict, optional): Norm layer after each conv, e.g.
            ``dict(type='BN')``. Defaults to None.
        act_cfg (dict, optional): Activation after each conv. Defaults to
            ``dict(type='LeakyReLU', negative_slope=0.1)``.
        init_cfg (dict, optional): MMEngine init config. Defaults to None
            (PyTorch's default conv init, as in Factor Transfer's code).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_convs: int = 3,
                 hidden_channels: Optional[int] = None,
                 kernel_size: int = 3,
                 norm_cfg: Optional[Dict] = None,
                 act_cfg: Optional[Dict] = dict(
                     type='LeakyReLU', negative_slope=0.1),
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        for key, value in (('in_channels', in_channels),
                           ('out_channels', out_channels),
                           ('num_convs', num_convs)):
            if not isinstance(value, int) or value < 1:
                raise FEEDConfigError(f'FEEDTranslator.{key}',
                                      f'must be a positive int, got {value!r}')
        if hidden_channels is not None and (not isinstance(
                hidden_channels, int) or hidden_channels < 1):
            raise FEEDConfigError(
                'FEEDTranslator.hidden_channels',
                f'must be a positive int or None, got {hidden_channels!r}')
        if kernel_size % 2 != 1:
            raise FEEDConfigError(
                'FEEDTranslator.kernel_size',
                f'must be odd to keep the spatial size, got {kernel_size}')
        self.in_channels = in_channels
        self.out_channels = out_channels

        layers: List[nn.Module] = []
        channels = in_channels
        for width in translator_channels(in_channels, out_channels, num_convs,
                                         hidden_channels):
            layers.append(
                nn.Conv2d(
                    channels,
                    width,
                    kernel_size,
                    stride=1,
                    padding=kernel_size // 2,
                    bias=True))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, width)[1])
            if act_cfg is not None:
                layers.append(build_activation_layer(act_cfg))
            channels = width
        self.layers = nn.Sequential(*layers)

    def forward_train(self, feature: torch.Tensor) -> torch.Tensor:
        """Translate a student feature map ``(N, C_s, H, W)`` to
        ``(N, C_t, H, W)``."""
        return self.layers(feature)

    @property
    def first_conv(self) -> nn.Conv2d:
        """The convolution that reads the student map."""
        return self.layers[0]

    def forward_after_first_conv(self, feature: torch.Tensor) -> torch.Tensor:
        """The layers after :attr:`first_conv`, on its output."""
        return self.layers[1:](feature)


def fusion_key(translator: nn.Module) -> Optional[tuple]:
    """What translators must share for their first convolutions to run as
    one: the convolution's geometry, input channels, bias and parameter
    type. None for a translator that cannot be fused."""
    if not isinstance(translator, FEEDTranslator):
        return None
    conv = translator.first_conv
    if type(conv) is not nn.Conv2d or conv.groups != 1 or \
            conv.padding_mode != 'zeros':
        return None
    return (conv.in_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.dilation, conv.bias is not None, conv.weight.dtype,
            conv.weight.device)


def fused_translate(translators: Mapping[str, FEEDTranslator],
                    feature: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Translate one student map with several translators whose first
    convolutions share a :func:`fusion_key`: those convolutions run as a
    single one over the concatenated output channels, whose output is
    split back per translator.

    The weights are concatenated at each call, so every translator keeps
    its own parameters (the same checkpoints as separate translators) and
    gradients flow back to them.

    Args:
        translators (Mapping[str, FEEDTranslator]): Translators by teacher
            name, of one fusion key.
        feature (Tensor): The student map ``(N, C_s, H, W)``.

    Returns:
        dict: ``name ->`` the translated map, as each translator alone gives.
    """
    convs: Sequence[nn.Conv2d] = [t.first_conv for t in translators.values()]
    first = convs[0]
    bias = (torch.cat([conv.bias for conv in convs])
            if first.bias is not None else None)
    fused = F.conv2d(feature, torch.cat([conv.weight for conv in convs]),
                     bias, first.stride, first.padding, first.dilation)
    parts = fused.split([conv.out_channels for conv in convs], dim=1)
    return {
        name: translator.forward_after_first_conv(part)
        for (name, translator), part in zip(translators.items(), parts)
    }


def translate_all(translators: Mapping[str, nn.Module], feature: torch.Tensor,
                  fuse: bool = True) -> Dict[str, torch.Tensor]:
    """``feature`` through every translator, in their order; with ``fuse``
    the translators of one :func:`fusion_key` share one first convolution
    (:func:`fused_translate`), the others run alone."""
    groups: Dict[Any, Dict[str, nn.Module]] = {}
    for name, translator in translators.items():
        key = fusion_key(translator) if fuse else None
        groups.setdefault(name if key is None else key,
                          {})[name] = translator
    translated = {}
    for group in groups.values():
        if len(group) > 1:
            translated.update(fused_translate(group, feature))
        else:
            name, translator = next(iter(group.items()))
            translated[name] = translator(feature)
    return {name: translated[name] for name in translators}
