"""CIFAR ResNet (He et al., 2016, section 4.2) and the behaviour shared by
feed_mm's three-stage CIFAR backbones."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

InitCfg = Optional[Union[Dict, List[Dict]]]

# Same scheme as mmpretrain's ResNet: BaseModule deep-copies init_cfg, so the
# shared list is never mutated through a model.
DEFAULT_INIT_CFG: List[Dict] = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def stage_depth(name: str, depth: int, per_stage: int, extra: int,
                example: str) -> int:
    """Number of blocks per stage of a three-stage network whose depth is
    ``per_stage * n + extra``; raises ValueError naming ``depth`` and the
    rule otherwise."""
    if (isinstance(depth, bool) or not isinstance(depth, int)
            or depth < per_stage + extra or (depth - extra) % per_stage):
        raise ValueError(
            f'{name} depth must be {per_stage}n+{extra} with n >= 1 '
            f'(e.g. {example}), got {depth!r}')
    return (depth - extra) // per_stage


class StagedCifarBackbone(BaseBackbone):
    """Base of the three-stage CIFAR backbones: validates ``out_indices``
    and ``frozen_stages`` and implements freezing and ``norm_eval``.

    Subclasses set ``_out_channels``, build a stem (:meth:`_make_stem`, or
    their own with :meth:`_stem` and :meth:`_stage_groups`) and their stages
    (:meth:`_make_stages`), call :meth:`_freeze_stages`, and override
    :meth:`_finish_last_stage` where the last stage needs more.

    Args:
        out_indices (Sequence[int] | int): Stages whose outputs ``forward``
            returns, in the order of the network. Negative indices count
            from the last stage.
        frozen_stages (int): -1 freezes nothing, 0 the stem, i > 0 the stem
            and stages 1..i (parameters stop requiring grad, the modules stay
            in eval mode).
        norm_eval (bool): Keep every BatchNorm in eval mode during training
            (frozen running statistics).
        init_cfg (dict | list[dict], optional): MMEngine init config.
    """

    num_stages = 3

    def __init__(self, out_indices: Union[Sequence[int], int],
                 frozen_stages: int, norm_eval: bool,
                 init_cfg: InitCfg) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if len(out_indices) == 0:
            raise ValueError(f'{name} out_indices must not be empty')
        indices = []
        for index in out_indices:
            if (isinstance(index, bool) or not isinstance(index, int)
                    or not -self.num_stages <= index < self.num_stages):
                raise ValueError(
                    f'{name} out_indices contains {index!r}, but the '
                    f'network has {self.num_stages} stages (valid indices '
                    f'0..{self.num_stages - 1} or -{self.num_stages}..-1)')
            indices.append(index % self.num_stages)
        self.out_indices = tuple(sorted(set(indices)))
        if (isinstance(frozen_stages, bool)
                or not isinstance(frozen_stages, int)
                or not -1 <= frozen_stages <= self.num_stages):
            raise ValueError(
                f'{name} frozen_stages must be an int in '
                f'-1..{self.num_stages}, got {frozen_stages!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

    def _make_stages(self, in_channels: int, stage_channels: Sequence[int],
                     num_blocks: int,
                     make_block: Callable[[int, int, int, int],
                                          nn.Module]) -> int:
        """Add ``layer1..3``, each of ``num_blocks`` blocks; the first block
        of stages 2 and 3 halves the resolution. ``make_block(in_channels,
        out_channels, stride, stage_index)`` builds one block. Returns the
        last stage's channels."""
        channels = in_channels
        for i, (out_channels, stride) in enumerate(
                zip(stage_channels, (1, 2, 2))):
            blocks = []
            for j in range(num_blocks):
                blocks.append(
                    make_block(channels, out_channels, stride if j == 0 else
                               1, i))
                channels = out_channels
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
        return channels

    @property
    def out_channels(self) -> List[int]:
        """Output channels of the three stages (``layer1..3``)."""
        return list(self._out_channels)

    def _make_stem(self, in_channels: int, channels: int,
                   norm_cfg: Dict) -> None:
        """The post-activation stem: 3x3 conv, norm, ReLU."""
        self.conv1 = nn.Conv2d(
            in_channels, channels, 3, 1, padding=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn1(self.conv1(x)))

    def _finish_last_stage(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Outputs of the stages in ``out_indices``."""
        x = self._stem(x)
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, f'layer{i + 1}')(x)
            if i == self.num_stages - 1:
                x = self._finish_last_stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _stage_groups(self) -> List[List[nn.Module]]:
        """Modules of the stem (item 0) and of each stage (items 1..3), in
        the grouping that ``frozen_stages`` counts."""
        return [[self.conv1, self.bn1], [self.layer1], [self.layer2],
                [self.layer3]]

    def _freeze_stages(self) -> None:
        for group in self._stage_groups()[:self.frozen_stages + 1]:
            for module in group:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'StagedCifarBackbone':
        """Set train/eval mode, then put frozen stages and, with
        ``norm_eval``, all BatchNorms back into eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


class PadShortcut(nn.Module):
    """Parameter-free shortcut of He et al.'s option A: subsample by
    ``stride`` and append zero channels up to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int,
                 stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f'the pad shortcut cannot reduce channels ({in_channels} -> '
                f'{out_channels})')
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class CifarBasicBlock(BaseModule):
    """Post-activation basic block: conv3x3-BN-ReLU-conv3x3-BN, plus the
    shortcut, then ReLU.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv.
        shortcut (str): ``'conv'`` (1x1 conv + BN) or ``'pad'`` for the
            shortcut when the shape changes.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 shortcut: str, norm_cfg: Dict) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample: Optional[nn.Module] = None
        if stride != 1 or in_channels != out_channels:
            if shortcut == 'conv':
                self.downsample = nn.Sequential(
                    nn.Conv2d(
                        in_channels, out_channels, 1, stride, bias=False),
                    build_norm_layer(norm_cfg, out_channels)[1])
            else:
                self.downsample = PadShortcut(in_channels, out_channels,
                                              stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CifarResNet(StagedCifarBackbone):
    """CIFAR ResNet of He et al., "Deep Residual Learning for Image
    Recognition" (CVPR 2016), section 4.2.

    Depth 6n+2: a 3x3 stem conv (``conv1``, ``bn1``, ReLU) and three stages
    ``layer1``..``layer3`` of n basic blocks with ``base_channels`` x 1, 2, 4
    channels and strides 1, 2, 2. ResNet-20/32/44/56/110 use n = 3, 5, 7, 9,
    18. Each stage's output is the post-ReLU output of its last block, so a
    recorder on ``backbone.layer3`` sees the last feature map.

    Args:
        depth (int): 6n+2 with n >= 1 (20, 32, 44, 56, 110, ...).
        shortcut (str): Shortcut when a block changes the shape: ``'conv'``
            (1x1 conv + BN projection, option B) or ``'pad'`` (strided
            identity with zero channels, option A, parameter-free).
            Defaults to ``'conv'``.
        base_channels (int): Channels of the stem and of stage 1. Defaults
            to 16.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int] | int): Stages (0..2) whose outputs
            ``forward`` returns. Defaults to ``(2, )``.
        frozen_stages (int): -1 freezes nothing, 0 the stem, i the stem and
            stages 1..i. Defaults to -1.
        norm_eval (bool): Keep BatchNorms in eval mode during training.
            Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): MMEngine init config.
            Defaults to Kaiming normal for convs, weight 1 / bias 0 for
            norms.
    """

    def __init__(self,
                 depth: int,
                 shortcut: str = 'conv',
                 base_channels: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[Sequence[int], int] = (2, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: Dict = dict(type='BN'),
                 init_cfg: InitCfg = DEFAULT_INIT_CFG) -> None:
        super().__init__(out_indices, frozen_stages, norm_eval, init_cfg)
        num_blocks = stage_depth('CifarResNet', depth, 6, 2,
                                 '20, 32, 44, 56, 110')
        if shortcut not in ('conv', 'pad'):
            raise ValueError(
                f"CifarResNet shortcut must be 'conv' or 'pad', got "
                f'{shortcut!r}')
        self.depth = depth
        self._out_channels = [base_channels * 2**i for i in range(3)]

        self._make_stem(in_channels, base_channels, norm_cfg)
        self._make_stages(
            base_channels, self._out_channels, num_blocks,
            lambda cin, cout, stride, _: CifarBasicBlock(
                cin, cout, stride, shortcut, norm_cfg))
        self._freeze_stages()
