"""The three classic recipes: gan (2014), dcgan (2015), cgan (2014)."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("gan")
class GAN(AdversarialRecipe):
    """Goodfellow et al. 2014: MLP G and D (``mlp_g`` / ``mlp_d``), the minimax or non-saturating
    loss (``loss.name``), k D steps per G step (``loop.d_steps``).

    The digits preset takes the sizes of the authors' MNIST code (goodfeli/adversarial
    ``mnist.yaml``): G z 100 -> 1,200 -> 1,200 ReLU, D two layers of 240 maxout units of 5 pieces
    with dropout (keep 0.8 on the image, 0.5 after), batch 100. Where it departs from theirs:
    Adam 2e-4 betas (0.5, 0.999) instead of SGD 0.1 with momentum 0.5 -> 0.7 and an lr decay;
    z ~ N(0, I) instead of uniform; a tanh output in [-1, 1] instead of a sigmoid in [0, 1] (the
    same up to scale), PyTorch's default init instead of uniform +-0.05 / +-0.005 and the output
    bias set from the pixel marginals; the non-saturating loss (their cost ``AdversaryCost2``
    is the paper's minimax value with the G trick of sec. 3); 32 px digits (theirs 28 px MNIST);
    G_ema 0.999 for samples (a generic aid). The points presets (ring8, grid25) keep small
    256-unit LeakyReLU MLPs."""

    name = "gan"
    description = ("Goodfellow et al. 2014: MLP G and D, minimax or non-saturating loss "
                   "(loss.name), k D-steps per G-step (loop.d_steps)")


@RECIPES.register("dcgan")
class DCGAN(AdversarialRecipe):
    """Radford et al. 2015 as pytorch/examples' dcgan/main.py runs it: dcgan_g / dcgan_d (BN in G
    and in D but its first layer, no conv biases, N(0, 0.02) init), z of 100 from N(0, I), the
    non-saturating loss (their BCE on a sigmoid), Adam 2e-4 betas (0.5, 0.999), batch 64, one D
    step per G step, G trained on the D step's fakes: all as theirs.

    Where it departs from pytorch/examples: 32 px, so one doubling fewer (G's 4x4 width is
    4 x ngf where theirs is 8 x ngf at 64 px; our data is 32 px). The digits preset halves the
    widths (ngf = ndf = 32: ~3x cheaper steps on a CPU, ample for 1,437 digits), sizes the run for
    a CPU budget (theirs 25 epochs) and samples a G_ema 0.999 (a generic aid; theirs none; the
    stacked-digits preset has none, measured not to help there), and adds instance noise to
    everything D sees (``augment.name: noise``: Gaussian, std 0.7 annealed linearly to 0 over the
    15,000 steps; a generic aid, not in DCGAN; without it the FID stalled near 13, with it 4.49 on
    seed 0: docs/results/families.md). Radford et al.'s own code (Newmu/dcgan_code) used batch
    128 and uniform z."""

    name = "dcgan"
    description = "Radford et al. 2015: all-convolutional G/D with batch norm, Adam 2e-4 beta1 0.5"


@RECIPES.register("cgan")
class CGAN(AdversarialRecipe):
    name = "cgan"
    description = "Mirza & Osindero 2014: the class label is fed to both G and D (sample with --class)"
    conditional = True
