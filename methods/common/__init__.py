"""Building blocks shared by the GAN baselines (CycleGAN, UNIT, MUNIT, pix2pix, BicycleGAN, SPADE, ...).

Import from the sub-modules (stable API):

- ``methods.common.blocks``: ``ConvBlock``, ``UpConvBlock``, ``ResBlock``, ``ResBlocks``, ``MLP``, ``LayerNorm2d``,
  ``AdaIN2d`` (+ ``assign_adain_params``, ``num_adain_params``), ``adain`` (statistics transfer), ``make_norm``,
  ``make_activation``, ``make_pad``.
- ``methods.common.discriminators``: ``PatchDiscriminator`` (pix2pix/CycleGAN 70×70 PatchGAN),
  ``MultiScaleDiscriminator`` (runs one discriminator per scale on an average-pooled pyramid).
- ``methods.common.losses``: ``GANLoss`` (lsgan | vanilla | hinge, multi-scale aware), ``kl_normal``,
  ``kl_unit_variance``, ``feature_matching_loss``.
- ``methods.common.init``: ``init_weights`` (normal | xavier | kaiming | orthogonal).
- ``methods.common.schedules``: ``linear_decay``, ``step_decay``, ``poly_decay`` (per training step).
- ``methods.common.images``: ``to_signed``/``to_unit`` ([0,1] ↔ [-1,1]), ``ImagePool`` (CycleGAN's history buffer),
  ``check_size`` (image sizes a VGG-mirroring decoder can invert).
- ``methods.common.training``: ``set_requires_grad``, ``seeded`` (local RNG for reproducible translations).
- ``methods.common.unpaired``: ``UnpairedGANMethod``, the fit/translate plumbing of two-domain GANs (parameter
  validation, seeding, TrainLoop, resumable data stream, schedulers, image-size dry run, [0,1] ↔ [-1,1]).
- ``methods.common.frozen``: ``FrozenEncoders``, the rule for frozen pretrained encoders from ``core.features``
  (``calibrated``, device moves, checkpoints that record the encoder kind and refuse the other one).

Conventions: networks work in [-1,1] (``to_signed``/``to_unit`` at the method boundary); ``make_activation("lrelu")``
is LeakyReLU(0.2), ``"lrelu0.01"`` another slope; ``GANLoss`` sums over discriminator scales.
"""
