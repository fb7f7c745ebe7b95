# pFEED from three teachers of different architectures on Fashion-MNIST:
# ResNet-20 (teacher 0 of the homogeneous settings), WRN-16-2 (128 channels)
# and ResNet-56 (trained by configs/teachers/fmnist_{wrn16_2,resnet56}.py).
# Each translator maps the student's 64 channels to its teacher's (inferred).
_base_ = ['./_base_/fmnist_feed.py']

_student = _base_.model.architecture
model = dict(
    teachers=dict(
        resnet20=dict(model=_student, ckpt=_base_.teacher_dirs[0]),
        wrn16_2=dict(
            model=dict(
                _student,
                backbone=dict(type='WideResNet', depth=16, widen_factor=2,
                              in_channels=1),
                head=dict(_student.head, in_channels=128)),
            ckpt='{{ fileDirname }}/../zoo/teachers/fmnist_wrn16_2.pth'),
        resnet56=dict(
            model=dict(_student,
                       backbone=dict(_student.backbone, depth=56)),
            ckpt='{{ fileDirname }}/../zoo/teachers/fmnist_resnet56.pth')))
