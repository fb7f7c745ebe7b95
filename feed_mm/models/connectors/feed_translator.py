from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmrazor.models.architectures.connectors.base_connector import \
    BaseConnector
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError


@MODELS.register_module()
class FEEDTranslator(BaseConnector):
    """FEED's per-teacher non-linear transformation ("translator"), which
    maps the student's feature map towards one teacher's.

    By default it is Factor Transfer's official translator as FEED uses it:
    three 3x3 convolutions (stride 1, padding 1, with bias) with channels
    C_s -> C_s -> C_t -> C_t, each followed by LeakyReLU(0.1), and no
    normalisation layer; in general the first ``num_convs // 2`` convs keep
    the student's width and the rest produce the teacher's.
    ``norm_cfg=dict(type='BN')`` gives MMRazor's ``Translator``. Translators
    exist only in training; the exported student does not contain them.

    Args:
        in_channels (int): Channels of the student's map (C_s), inferred by
            FEEDDistill (an explicit value is checked).
        out_channels (int): Channels of the teacher's map (C_t), likewise.
        num_convs (int): Number of convolutions. Defaults to 3.
        kernel_size (int): Conv kernel size, odd (the padding keeps the
            spatial size). Defaults to 3.
        norm_cfg (dict, optional): Norm layer after each conv. Defaults to
            None.
        act_cfg (dict, optional): Activation after each conv; None makes
            the translator linear. Defaults to LeakyReLU(0.1).
        init_cfg (dict, optional): MMEngine init config. Defaults to None
            (PyTorch's default conv init, as in Factor Transfer's code).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_convs: int = 3,
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
        if not isinstance(kernel_size, int) or kernel_size % 2 != 1:
            raise FEEDConfigError(
                'FEEDTranslator.kernel_size',
                f'must be odd to keep the spatial size, got {kernel_size!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        layers: List[nn.Module] = []
        channels = in_channels
        for i in range(num_convs):
            width = in_channels if i < num_convs // 2 else out_channels
            layers.append(nn.Conv2d(channels, width, kernel_size,
                                    padding=kernel_size // 2))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, width)[1])
            if act_cfg is not None:
                layers.append(build_activation_layer(act_cfg))
            channels = width
        self.layers = nn.Sequential(*layers)

    def forward_train(self, feature: torch.Tensor) -> torch.Tensor:
        """Translate a student map ``(N, C_s, H, W)`` to ``(N, C_t, H, W)``."""
        return self.layers(feature)
