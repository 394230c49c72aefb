"""An invisible, keyed watermark: a 64-bit payload spread over mid-frequency DCT coefficients.

Scheme (spread spectrum, Cox et al. 1997, "Secure spread spectrum watermarking for
multimedia"; with the host-interference handling of improved spread spectrum, Malvar &
Florêncio 2003, and margin-based informed embedding, Miller, Cox & Bloom 2004):

* The image's luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (the JPEG luma; gray images: the image)
  is transformed by a whole-image orthonormal 2D DCT-II.
* The *band* is every coefficient ``(u, v)`` with ``BAND_LO <= u/H + v/W < BAND_HI`` and
  ``u/H, v/W < BAND_AXIS``: mid frequencies. The lowest ones hold most of the image's energy
  (hiding bits there costs visible distortion, see below); frequencies above half the Nyquist
  rate do not survive a 50 % downscale, and JPEG quantises these coarse ones lightly.
* Each payload bit ``i`` owns a keyed pseudo-random +-1 pattern ``p_i`` over the whole band
  (CDMA-style: every bit uses every coefficient, so no bit depends on one frequency), scaled to
  unit norm. The key seeds SHAKE-256, so patterns are identical on every platform and version.
* Decoding is blind: ``bit_i = [<c, p_i> > 0]`` on the received image's band coefficients ``c``.
  Only signs matter, so a global gain does not flip bits. A blur (e.g. a downscale and upscale)
  is a *frequency-dependent* gain, which leaks the host's energy across patterns; the decoder
  therefore also reads ``c / g_sigma`` for a small bank of Gaussian-blur gain profiles
  ``g_sigma(f) = exp(-2 pi^2 sigma^2 |f|^2)`` (an equaliser per blur strength) and keeps the
  reading whose sync bits match best (an exhaustive search over attack parameters, as in
  template-based watermark resynchronisation).
* Embedding moves the projections ``s = P c`` to ``t_i = b_i * max(strength, b_i s_i)``
  (``b_i = +-1``): a bit the host already carries with margin ``strength`` is left alone, the
  others are pushed to exactly ``+-strength``. The minimum-norm change in the band is
  ``P^T (P P^T)^-1 (t - s)``; it is added to every colour channel (which changes Y by the same
  amount), rounded to 8 bits and clipped, and the whole step is repeated a few times so that
  rounding and clipping (black digit backgrounds) do not eat the margin.

Payload: ``SYNC_BITS`` key-derived sync bits followed by a ``MESSAGE_BITS`` message (by
default the first 32 bits of the generator's checkpoint sha256, see
``gankit.generate.checkpoint_hash``). A reading is *detected* when at least
``DETECT_MIN_SYNC`` of the 32 sync bits match: an unmarked image (or a wrong key) matches each
with probability 1/2, so the false-positive rate per reading is P(Binomial(32, 1/2) >= 27) =
5.6e-5, at most 2.8e-4 per image over the 5 equalisers.

Capacity depends on size: a 32x32 image has 125 band coefficients for the 64 bits, a 64x64 one
460 (large images use an evenly strided subset of at most ``MAX_COEFFICIENTS``); images smaller
than about 30x30 cannot carry the mark. Robustness is measured at 32 and 64 px in
docs/RESULTS.md. Decode at the size the image was written: the patterns depend on H and W.

The key only hides the patterns: whoever knows it can read, and so also erase, the mark.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from ..errors import UserError

SYNC_BITS = 32
MESSAGE_BITS = 32
PAYLOAD_BITS = SYNC_BITS + MESSAGE_BITS
DETECT_MIN_SYNC = 27  # of 32: false positives 5.6e-5 per reading (binomial tail)
BAND_LO, BAND_HI, BAND_AXIS = 0.3, 0.6, 0.45  # normalised frequencies u/H, v/W (see above)
EQUALISER_SIGMAS = (0.0, 0.6, 0.8, 1.0, 1.2)  # Gaussian blur std (pixels) the decoder undoes
DEFAULT_STRENGTH = 12.0  # target |projection| in 8-bit pixel units (unit-norm patterns)
ITERATIONS = 6
MIN_COEFFICIENTS = 96  # band size below which 64 near-orthogonal patterns leave no slack
MAX_COEFFICIENTS = 16384  # bounds the pattern matrix (64 x n floats) for large images
SCHEME = "gankit-dct-ss64-v1"
LUMA = np.array([0.299, 0.587, 0.114])


def _check_key(key: int) -> int:
    if not isinstance(key, (int, np.integer)) or isinstance(key, bool) or not 0 <= int(key) < 2**63:
        raise UserError(f"--watermark: the key must be an integer in 0..2^63-1, got {key!r}")
    return int(key)


def _shake_bits(label: str, n: int) -> np.ndarray:
    """``n`` pseudo-random bits (uint8 0/1) from SHAKE-256 of ``label``: the same everywhere."""
    raw = hashlib.shake_256(label.encode()).digest((n + 7) // 8)
    return np.unpackbits(np.frombuffer(raw, np.uint8))[:n]


def sync_bits(key: int) -> np.ndarray:
    """The key's 32 sync bits (uint8 0/1)."""
    return _shake_bits(f"{SCHEME}|sync|{_check_key(key)}", SYNC_BITS)


def payload_bits(key: int, message: int) -> np.ndarray:
    """Sync bits then the 32-bit ``message`` (most significant bit first): uint8 [64]."""
    if not 0 <= int(message) < 2**MESSAGE_BITS:
        raise UserError(f"--watermark-message: must fit in {MESSAGE_BITS} bits (8 hex digits), got {message!r}")
    msg = np.array([(int(message) >> (MESSAGE_BITS - 1 - i)) & 1 for i in range(MESSAGE_BITS)], np.uint8)
    return np.concatenate([sync_bits(key), msg])


def bits_to_int(bits: np.ndarray) -> int:
    return int("".join(str(int(b)) for b in bits), 2) if len(bits) else 0


@functools.lru_cache(maxsize=4)
def _band(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the band's DCT coefficients, in a fixed order."""
    u, v = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    fu, fv = u / h, v / w
    keep = (fu + fv >= BAND_LO) & (fu + fv < BAND_HI) & (fu < BAND_AXIS) & (fv < BAND_AXIS)
    rows, cols = u[keep], v[keep]
    step = -(-len(rows) // MAX_COEFFICIENTS)  # ceil: 1 for all but large images
    return rows[::step], cols[::step]


@functools.lru_cache(maxsize=4)
def _equalisers(h: int, w: int) -> np.ndarray:
    """[len(EQUALISER_SIGMAS), n] gains of Gaussian blurs at the band's frequencies.

    DCT-II index u of an H-pixel axis is the frequency u / (2H) cycles per pixel.
    """
    rows, cols = _band(h, w)
    f2 = (rows / (2 * h)) ** 2 + (cols / (2 * w)) ** 2
    return np.stack([np.exp(-2 * np.pi**2 * s**2 * f2) for s in EQUALISER_SIGMAS])


@functools.lru_cache(maxsize=8)
def _patterns(key: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(P [64, n] unit-norm +-1 rows, pinv helper (P P^T)^-1 [64, 64]) for a key and size."""
    n = len(_band(h, w)[0])
    if n < MIN_COEFFICIENTS:
        raise UserError(f"image {h}x{w}: too small to carry a {PAYLOAD_BITS}-bit watermark "
                        f"({n} band coefficients, needs >= {MIN_COEFFICIENTS}: about 30x30 pixels)")
    signs = _shake_bits(f"{SCHEME}|patterns|{key}|{h}x{w}", PAYLOAD_BITS * n).reshape(PAYLOAD_BITS, n)
    p = (signs.astype(np.float64) * 2 - 1) / np.sqrt(n)
    return p, np.linalg.inv(p @ p.T)


def _luma(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float64)
    return img if img.ndim == 2 else img[..., :3] @ LUMA


def _as_image(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3)):
        raise ValueError(f"expected uint8 [H, W] or [H, W, 1|3], got {img.dtype} {img.shape}")
    return img


def band_coefficients(img: np.ndarray) -> np.ndarray:
    """The luma's orthonormal DCT-II coefficients in the band [n] (uint8 [H, W] or [H, W, C])."""
    from scipy.fft import dctn

    img = _as_image(img)
    rows, cols = _band(*img.shape[:2])
    c = dctn(_luma(img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img), type=2, norm="ortho")
    return c[rows, cols]


def projections(img: np.ndarray, key: int) -> np.ndarray:
    """The soft decoder outputs ``<c, p_i>`` [64] of an image, without equalisation."""
    p, _ = _patterns(_check_key(key), *np.asarray(img).shape[:2])
    return p @ band_coefficients(img)


def embed(img: np.ndarray, key: int, message: int = 0, strength: float = DEFAULT_STRENGTH) -> np.ndarray:
    """``img`` (uint8 [H, W] or [H, W, C]) with the payload (sync bits of ``key`` + ``message``)."""
    from scipy.fft import idctn

    img = _as_image(img)
    key = _check_key(key)
    h, w = img.shape[:2]
    p, gram_inv = _patterns(key, h, w)
    rows, cols = _band(h, w)
    b = payload_bits(key, message).astype(np.float64) * 2 - 1  # +-1
    x = img.astype(np.float64)
    for _ in range(ITERATIONS):
        s = projections(np.clip(np.round(x), 0, 255).astype(np.uint8), key)
        target = b * np.maximum(strength, b * s)
        if np.all(b * s >= 0.95 * strength):
            break
        coef = np.zeros((h, w))
        coef[rows, cols] = p.T @ (gram_inv @ (target - s))  # min-norm change with P c' = target
        delta = idctn(coef, type=2, norm="ortho")  # [H, W], luma change
        x = np.clip(x + (delta if x.ndim == 2 else delta[..., None]), 0, 255)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


@dataclass
class Reading:
    """What the decoder reads from one image."""

    bits: np.ndarray  # uint8 [64]: sync bits then message bits
    soft: np.ndarray  # float [64]: the projections (sign = bit, magnitude = confidence)
    sync_accuracy: float  # share of the 32 sync bits that match the key's
    message: int  # the 32 message bits as an integer
    detected: bool  # sync matches >= DETECT_MIN_SYNC / 32

    def bit_accuracy(self, expected: np.ndarray) -> float:
        """Share of the 64 payload bits equal to ``expected`` (e.g. ``payload_bits(key, msg)``)."""
        return float(np.mean(self.bits == np.asarray(expected)))

    def to_dict(self, expected_message: int | None = None, key: int | None = None) -> dict:
        d = {"detected": self.detected, "sync_bit_accuracy": round(self.sync_accuracy, 4),
             "message": f"{self.message:08x}", "bits": "".join(map(str, self.bits.tolist()))}
        if expected_message is not None and key is not None:
            d["bit_accuracy"] = round(self.bit_accuracy(payload_bits(key, expected_message)), 4)
        return d


def decode(img: np.ndarray, key: int) -> Reading:
    """Read the payload of ``img`` with ``key`` (blind: the original is not needed).

    Every equaliser of the bank gives a reading; the one whose sync bits match best wins
    (ties: the weakest equaliser, i.e. no blur assumed first).
    """
    img = _as_image(img)
    key = _check_key(key)
    p, _ = _patterns(key, *img.shape[:2])
    c = band_coefficients(img)
    want = sync_bits(key)
    best = None
    for gain in _equalisers(*img.shape[:2]):
        s = p @ (c / gain)
        bits = (s > 0).astype(np.uint8)
        matches = int(np.sum(bits[:SYNC_BITS] == want))
        if best is None or matches > best[0]:
            best = (matches, bits, s)
    matches, bits, s = best
    return Reading(bits, s, matches / SYNC_BITS, bits_to_int(bits[SYNC_BITS:]), matches >= DETECT_MIN_SYNC)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) between two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def parse_message(text: str | None) -> int | None:
    """``--watermark-message`` as an int: up to 8 hex digits (``0x`` optional)."""
    if text is None:
        return None
    t = text.strip().lower().removeprefix("0x")
    try:
        if not t or len(t) > 8:
            raise ValueError
        return int(t, 16)
    except ValueError:
        raise UserError(f"--watermark-message: expected up to 8 hex digits, got {text!r}") from None


def default_message(model) -> int:
    """The first 32 bits of the generator's checkpoint sha256: the mark names the generator."""
    from ..provenance import checkpoint_hash

    digest = checkpoint_hash(model)
    try:
        return int(digest[:8], 16)
    except ValueError:  # "unknown": no weights file to hash
        return 0


def watermark_batch(x, key: int, message: int | None = None, model=None,
                    strength: float = DEFAULT_STRENGTH):
    """Mark a batch of generated images ``x`` ([N, C, H, W] floats in [-1, 1]).

    Returns ``(marked x as floats that are exact 8-bit values, provenance text)``; the text
    names the scheme and message, never the key. ``message`` defaults to
    :func:`default_message` of ``model``.
    """
    import torch

    from .. import viz

    key = _check_key(key)
    if message is None:
        message = default_message(model) if model is not None else 0
    imgs = viz.to_uint8_images(x)  # [N, H, W, C]
    marked = np.stack([embed(im, key, message, strength) for im in imgs])
    out = torch.from_numpy(marked).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return out, f"{SCHEME} message={message:08x}"
