"""The method kit: pieces shared by methods, so that no method imports a sibling method.

Import from the sub-modules (stable API):

- ``methods.common.params``: ``resolve_params`` (a method's declared ``defaults`` ⊕ the given parameters; an unknown
  name is a ``BenchError``). ``Method.__init__`` calls it; seeding is ``core.seeding.seeded``.
- ``methods.common.sampling``: ``BatchSampler`` (modes ``per_step`` and ``stream``), ``fetch``, ``paired_sampler``/
  ``paired_fetch``, ``step_generator`` and the named seed derivation (``derive_seed``, ``STREAM_B``, ``PER_STEP_B``,
  ``STAGE_STRIDE``).
- ``methods.common.checkpoint``: ``write_checkpoint``/``read_checkpoint``, the one checkpoint format of
  ``Method.save/load`` and ``TrainLoop``.
- ``methods.common.blocks``: ``ConvBlock``, ``UpConvBlock``, ``ResBlock``, ``ResBlocks``, ``MLP``, ``LayerNorm2d``,
  ``AdaIN2d`` (+ ``assign_adain_params``, ``num_adain_params``), ``adain`` (statistics transfer), ``make_norm``,
  ``make_activation``, ``make_pad``, ``norm_layer`` (pix2pix's batch | instance | none).
- ``methods.common.discriminators``: ``PatchDiscriminator`` (pix2pix/CycleGAN 70×70 PatchGAN),
  ``MultiScaleDiscriminator`` (one discriminator per scale on an average-pooled pyramid),
  ``MultiScalePatchDiscriminator`` (BicycleGAN's, widths halving per scale).
- ``methods.common.unet``: ``UnetGenerator`` (pix2pix, pix2pix_noise, BicycleGAN).
- ``methods.common.decoders``: ``mirror_decoder`` (the VGG-19 mirror decoders of AdaIN and WCT).
- ``methods.common.losses``: ``GANLoss`` (lsgan | vanilla | hinge, multi-scale aware), ``kl_normal``,
  ``kl_unit_variance``, ``feature_matching_loss``.
- ``methods.common.init``: ``init_weights`` (normal | xavier | kaiming | orthogonal).
- ``methods.common.schedules``: ``linear_decay``, ``step_decay``, ``poly_decay``, ``inverse_time_decay`` (per step).
- ``methods.common.images``: ``to_signed``/``to_unit`` ([0,1] ↔ [-1,1]), ``resize_to``, ``paired_jitter`` (pix2pix's
  resize + crop + flip), ``ImagePool`` (CycleGAN's history buffer), ``check_size`` (image sizes a VGG-mirroring
  decoder can invert).
- ``methods.common.training``: ``set_requires_grad``, ``frozen_weights``, ``require_kind``.
- ``methods.common.unpaired``: ``UnpairedGANMethod``, the fit/translate plumbing of two-domain GANs (seeding,
  TrainLoop, resumable data stream, schedulers, image-size dry run, [0,1] ↔ [-1,1]).
- ``methods.common.spade``: ``SPADE`` (param-free batch | instance | sync | pono, reflection-pad option),
  ``SPADEResBlock``, ``PositionalNorm2d``, ``SPADEGenerator`` (VAE mode or from the label map), ``SPADEDiscriminator``,
  ``discriminate_pair``, ``init_xavier`` (spade, spade_vae, cocosnet); ``methods.common.spade_losses``: SPADE's hinge,
  feature matching and VGG losses, ``vgg_features``.
- ``methods.common.conditioning``: the label-map protocols' conditioning maps (``as_conditioning``,
  ``batch_conditioning``, ``one_hot_maps``, ``resize_nearest``).
- ``methods.common.frozen``: ``FrozenEncoders``, the rule for frozen pretrained encoders from ``core.features``
  (``calibrated``, device moves, checkpoints that record the encoder kind and refuse the other one).

Conventions: networks work in [-1,1] (``to_signed``/``to_unit`` at the method boundary); ``make_activation("lrelu")``
is LeakyReLU(0.2), ``"lrelu0.01"`` another slope; ``GANLoss`` sums over discriminator scales.
"""
