"""The generator's non-adversarial loss, shared by every objective (and by L1 pretraining).

    lambda_L1 * L1  (or the class-rebalanced L1)
  + class_weight * cross-entropy over colour classes         (--ab_output=classes generators)
  + colorfulness_weight * colourfulness gap to the truth      (optional, against sepia)
  + perceptual_weight * VGG feature L1                        (optional)

Each term is a pure function of :mod:`tfcolor.gans.losses`; this class only weighs them and names
their logs. The plain L1 is always logged, so runs with and without the extra terms compare.
"""

import tensorflow as tf

from tfcolor.core import color
from tfcolor.gans import losses


class Reconstruction:
    """Args:
      l1_weight: lambda of the L1 term.
      bin_weights: ``[n, n]`` ab-bin weights (tfcolor.gans.rebalance.weights) to rebalance the L1
        term; None: plain L1.
      colorfulness_weight: weight of :func:`tfcolor.gans.losses.colorfulness_loss`.
      perceptual: a feature extractor (tfcolor.models.vgg.VGGFeatures) for the perceptual term.
      perceptual_weight: its weight.
      class_weight: weight of :func:`tfcolor.gans.losses.class_cross_entropy` on the class logits of
        a class-head generator (tfcolor.models.classes), which come with their class centres.
      class_bin_weights: ``[n, n]`` grid weights rebalancing the cross-entropy; None: plain.
    """

    def __init__(self, l1_weight=100.0, bin_weights=None, colorfulness_weight=0.0, perceptual=None,
                 perceptual_weight=0.0, class_weight=0.0, class_bin_weights=None):
        if perceptual_weight and perceptual is None:
            raise ValueError("perceptual_weight > 0 needs a feature extractor (perceptual=...)")
        self.l1_weight = float(l1_weight)
        self.bin_weights = None if bin_weights is None else tf.constant(bin_weights, tf.float32)
        self.colorfulness_weight = float(colorfulness_weight)
        self.perceptual = perceptual if perceptual_weight else None
        self.perceptual_weight = float(perceptual_weight)
        self.class_weight = float(class_weight)
        self.class_bin_weights = (None if class_bin_weights is None or not class_weight
                                  else tf.constant(class_bin_weights, tf.float32))

    @property
    def names(self):
        """Names of the extra logged values (besides l1)."""
        return tuple(name for name, on in (("l1_rebalanced", self.bin_weights is not None),
                                           ("color_gap", self.colorfulness_weight > 0),
                                           ("perceptual", self.perceptual is not None),
                                           ("class_ce", self.class_weight > 0)) if on)

    def __call__(self, l, ab, fake_ab, logits=None, centres=None):
        """(weighted total, {name: unweighted term}) for normalised L, true ab, generated ab (and,
        when ``class_weight`` > 0, the generator's class logits and class centres)."""
        ab, fake_ab = tf.cast(ab, tf.float32), tf.cast(fake_ab, tf.float32)
        l1 = losses.l1_loss(ab, fake_ab)
        logs = {"l1": l1}
        if self.bin_weights is None:
            total = self.l1_weight * l1
        else:
            logs["l1_rebalanced"] = losses.rebalanced_l1_loss(ab, fake_ab, self.bin_weights)
            total = self.l1_weight * logs["l1_rebalanced"]
        if self.class_weight:
            if logits is None or centres is None:
                raise ValueError("the colour-class term needs a generator with a class head (--ab_output=classes)")
            logs["class_ce"] = losses.class_cross_entropy(ab, logits, centres, self.class_bin_weights)
            total += self.class_weight * logs["class_ce"]
        if self.colorfulness_weight or self.perceptual is not None:
            l = tf.cast(l, tf.float32)
            real_rgb = color.normalized_lab_to_rgb(l, ab)
            fake_rgb = color.normalized_lab_to_rgb(l, fake_ab)
            if self.colorfulness_weight:
                logs["color_gap"] = losses.colorfulness_loss(fake_rgb, real_rgb)
                total += self.colorfulness_weight * logs["color_gap"]
            if self.perceptual is not None:
                logs["perceptual"] = losses.perceptual_loss(self.perceptual(fake_rgb),
                                                            self.perceptual(tf.stop_gradient(real_rgb)))
                total += self.perceptual_weight * logs["perceptual"]
        return total, logs
