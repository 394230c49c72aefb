"""The argument parser: every verb, its flags and their help."""
from __future__ import annotations

import argparse

from ..errors import UserError
from .commands import (
    cmd_bench,
    cmd_data_check,
    cmd_data_download,
    cmd_data_list,
    cmd_data_prepare,
    cmd_detect,
    cmd_directions,
    cmd_edit,
    cmd_eval,
    cmd_interpolate,
    cmd_invert,
    cmd_recipes,
    cmd_sample,
    cmd_studio,
    cmd_synth,
    cmd_train,
    cmd_translate,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one-line UserErrors (exit 2)."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    p = _Parser(prog="gankit", description="Train, sample, evaluate and serve GANs.")
    p.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a recipe (default: cgan on digits)")
    t.add_argument("--recipe", help="recipe name (see `gankit recipes`)")
    t.add_argument("--data", help="built-in dataset (see `gankit data list`) or a path")
    t.add_argument("--steps", type=int, help="generator steps")
    t.add_argument("--out", help="run directory (default runs/<recipe>-<data>)")
    t.add_argument("--config", help="YAML config file")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override, e.g. optim_g.lr=1e-4")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    t.add_argument("--allow-config-change", action="store_true", help="with --resume: accept a changed config")
    t.add_argument("--init-from", metavar="RUN", help="start G (loop.init_nets) from another run's trained "
                   "weights, e.g. SRGAN from SRResNet (= --set loop.init_from=RUN)")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="write samples from a checkpoint")
    s.add_argument("--checkpoint", required=True, help="run or checkpoint directory")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", default="samples_out")
    s.add_argument("--class", dest="class_", type=int, help="class index (conditional models)")
    s.add_argument("--truncation", type=float, help="truncation threshold for z (e.g. 0.7)")
    s.add_argument("--text", action="append", metavar="CAPTION", help="text-to-image models: a caption "
                   "(repeatable; --n images each); default: held-out captions, listed in captions.txt")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--watermark", type=int, metavar="KEY", help="embed an invisible keyed watermark (integer key; "
                   "read it with `gankit detect --watermark KEY`)")
    s.add_argument("--watermark-message", metavar="HEX", help="with --watermark: the 32-bit message (8 hex digits; "
                   "default: the start of the checkpoint's sha256)")
    s.add_argument("--code-grid", action="store_true", help="InfoGAN: write one grid per latent code (each "
                   "code varied, the rest fixed) to --out")
    s.set_defaults(func=cmd_sample)

    sy = sub.add_parser("synth", help="write a labelled folder of generated images (class-conditional models)")
    sy.add_argument("--checkpoint", required=True, help="run or checkpoint directory of a conditional model")
    sy.add_argument("--per-class", type=int, required=True, help="images per class")
    sy.add_argument("--out", required=True, help="output folder (one subfolder per class + synth.json)")
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--truncation", type=float, help="truncation threshold for z (e.g. 0.7)")
    sy.add_argument("--watermark", type=int, metavar="KEY", help="also embed an invisible keyed watermark")
    sy.add_argument("--watermark-message", metavar="HEX", help="with --watermark: the 32-bit message (8 hex digits)")
    sy.set_defaults(func=cmd_synth)

    de = sub.add_parser("detect", help="real-vs-generated scores of images (a trained detector) and/or watermark "
                        "readings; `gankit detect train` trains a detector")
    de.add_argument("action", nargs="?", choices=["train"], help="train: train a detector (--real, --fake, --out)")
    de.add_argument("--checkpoint", help="a detector folder (from `gankit detect train`)")
    de.add_argument("--input", help="an image or a folder of images")
    de.add_argument("--json", action="store_true", help="print one JSON object")
    de.add_argument("--watermark", type=int, metavar="KEY", help="read the keyed watermark of each image")
    de.add_argument("--watermark-message", metavar="HEX", help="with --watermark: the expected message; adds the "
                    "bit accuracy of each reading")
    de.add_argument("--real", help="train: real images (a built-in dataset such as digits, or a folder)")
    de.add_argument("--fake", help="train: generator checkpoint(s), comma-separated")
    de.add_argument("--out", help="train: output folder of the detector")
    de.add_argument("--n", type=int, default=0, help="train: real training images (default: all of the train split)")
    de.add_argument("--steps", type=int, help="train: optimiser steps (default 2000)")
    de.add_argument("--seed", type=int, default=0, help="train: seed of the net, batches and generated samples")
    de.add_argument("--augment", default="robust", choices=["robust", "none"],
                    help="train: robust (default) = random JPEG and resize augmentation (Wang et al. 2020)")
    de.add_argument("--resolution", type=int, help="train: image size (default: the generator's)")
    de.add_argument("--width", type=int, help="train: base conv width (default 16)")
    de.set_defaults(func=cmd_detect)

    tr = sub.add_parser("translate", help="run an image-to-image model (pix2pix, cyclegan, stargan, srgan, spade) "
                        "on image files")
    tr.add_argument("--checkpoint", required=True, help="run or checkpoint directory of a translation model")
    tr.add_argument("--input", required=True, help="an image, a folder of images, or a folder with A/ and B/ "
                    "(inputs + targets: writes input|output|target strips). Inputs of any size are resized "
                    "(squashed, not tiled) to the model's resolution")
    tr.add_argument("--out", default="translate_out", help="output folder")
    tr.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"], help="BtoA: cyclegan's F")
    tr.add_argument("--domain", type=int, help="target domain of a multi-domain model (stargan); default: all")
    tr.add_argument("--seed", type=int, default=0, help="noise seed (spade)")
    tr.set_defaults(func=cmd_translate)

    ip = sub.add_parser("interpolate", help="a latent walk between seeds: PNG frames and an animated GIF")
    ip.add_argument("--checkpoint", required=True, help="run or checkpoint directory of a noise-to-image model")
    ip.add_argument("--seeds", required=True, help="seeds to walk through, e.g. 1,2,3 (a seed's latent is the "
                    "first one the recipe samples for it)")
    ip.add_argument("--steps", type=int, default=16, help="frames per pair of seeds, endpoints included")
    ip.add_argument("--space", default="z", choices=["z", "w"], help="w: style-based generators (stylegan2)")
    ip.add_argument("--method", default="slerp", choices=["lerp", "slerp"])
    ip.add_argument("--class", dest="class_", type=int, help="class index (conditional models; default 0)")
    ip.add_argument("--truncation", type=float, help="truncation (z resampled, or psi towards the mean w)")
    ip.add_argument("--out", required=True, help="F.gif (the GIF only) or a folder (frames, strip.png, GIF)")
    ip.set_defaults(func=cmd_interpolate)

    iv = sub.add_parser("invert", help="find the latent that reconstructs an image (optimisation)")
    iv.add_argument("--checkpoint", required=True, help="run or checkpoint directory of a noise-to-image model")
    iv.add_argument("--input", required=True, help="an image or a folder of images (converted to the model's "
                    "channels and squashed to its resolution)")
    iv.add_argument("--out", required=True, help="output folder: recon.png, strip.png, latent.npy/.safetensors, "
                    "invert.json")
    iv.add_argument("--space", default="z", choices=["z", "w", "w+"], help="w, w+: style-based generators")
    iv.add_argument("--steps", type=int, default=300, help="optimiser steps")
    iv.add_argument("--feature-weight", type=float, help="weight of a digits-classifier feature loss added to "
                    "the pixel MSE (default 0)")
    iv.add_argument("--seed", type=int, default=0, help="seed of the random starting latents (z)")
    iv.add_argument("--json", action="store_true", help="print one JSON object")
    iv.set_defaults(func=cmd_invert)

    di = sub.add_parser("directions", help="compute latent directions (class, class-to-class, thickness) from "
                        "samples labelled by the digits classifier")
    di.add_argument("--checkpoint", required=True, help="run or checkpoint directory of a noise-to-image model")
    di.add_argument("--out", required=True, help="output .safetensors file")
    di.add_argument("--method", default="classifier", choices=["classifier", "class-means"],
                    help="classifier: linear boundaries (InterFaceGAN); class-means: differences of class means")
    di.add_argument("--n", type=int, default=2000, help="sampled latents")
    di.add_argument("--space", choices=["z", "w"], help="default: w for stylegan2, else z")
    di.add_argument("--class", dest="class_", type=int, help="class index (conditional models; default 0)")
    di.add_argument("--seed", type=int, default=0)
    di.add_argument("--json", action="store_true", help="print one JSON object")
    di.set_defaults(func=cmd_directions)

    ed = sub.add_parser("edit", help="move a seed's or an image's latent along a saved direction (PNG strip)")
    ed.add_argument("--checkpoint", required=True, help="run or checkpoint directory of a noise-to-image model")
    ed.add_argument("--seed", help="seed(s) to edit, e.g. 3 or 1,2,5 (one strip row each)")
    ed.add_argument("--input", help="an image or folder to edit (inverted first)")
    ed.add_argument("--directions", required=True, help="a file from `gankit directions`")
    ed.add_argument("--direction", required=True, help="direction name, e.g. class3_to_8 or thickness")
    ed.add_argument("--strength", type=float, required=True, help="how far to move (std units of the direction)")
    ed.add_argument("--steps", type=int, help="columns of the strip: strengths --start .. --strength (default 2)")
    ed.add_argument("--start", type=float, default=0.0, help="strength of the first column (default 0: unedited)")
    ed.add_argument("--invert-steps", type=int, default=300, help="with --input: optimiser steps of the inversion")
    ed.add_argument("--class", dest="class_", type=int, help="class index (conditional models; default 0)")
    ed.add_argument("--truncation", type=float, help="truncation of the seeds' latents")
    ed.add_argument("--out", required=True, help="output folder: strip.png, one PNG per frame, edit.json")
    ed.set_defaults(func=cmd_edit)

    e = sub.add_parser("eval", help="metrics of a checkpoint (FID, KID, precision/recall, IS, modes)")
    e.add_argument("--checkpoint", help="run or checkpoint directory")
    e.add_argument("--metrics", help="comma list of fid,kid,prdc,is,modes,class_acc,cas (default: by data kind; "
                   "cas, the classification accuracy score, is slow and never a default)")
    e.add_argument("--n", type=int, help="generated samples (default 10000 images, 2500 points)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--extractor", help="digits, randconv, inception or points (default: by dataset)")
    e.add_argument("--inception-weights", help="FID Inception weights file (or env GANKIT_INCEPTION_WEIGHTS)")
    e.add_argument("--report", metavar="DIR", help="also write an HTML report to DIR")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--real-vs-real", action="store_true", help="baseline: --data's train split vs its test split")
    e.add_argument("--data", help="with --real-vs-real: a built-in dataset")
    e.add_argument("--resolution", type=int, default=32, help="with --real-vs-real: image size")
    e.set_defaults(func=cmd_eval)

    st = sub.add_parser("studio", help="the web app: generate, explore, translate, monitor runs, 2D playground")
    st.add_argument("--checkpoint", help="a checkpoint or run directory to serve")
    st.add_argument("--runs", help="a folder of run directories (monitor them; pick any as the model)")
    st.add_argument("--port", type=int, default=7860, help="port (default 7860; 0 picks a free one)")
    st.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1, this machine only; any other needs a token)")
    st.add_argument("--token", help="access token (default beyond loopback: a random one, printed in the URL)")
    st.add_argument("--allow-host", action="append", metavar="NAME",
                    help="a further Host name the studio answers to (e.g. its DNS name; repeatable)")
    st.add_argument("--workers", type=int, default=2, help="pictures made at once (default 2)")
    st.add_argument("--detector", help="a detector folder from `gankit detect train` (for the Detect page)")
    st.add_argument("--threads", type=int, default=1, help="PyTorch threads per request (default 1)")
    st.add_argument("--verbose", action="store_true", help="log every request")
    st.set_defaults(func=cmd_studio)

    b = sub.add_parser("bench", help="training throughput: gankit's loop vs a tutorial-style loop, and one "
                       "training step per architecture family (FLOPs, % of peak)")
    b.add_argument("--workloads", help="comma-separated workloads or groups (default: naive). Workloads: "
                   "dcgan32, stylegan2, pix2pix (each vs its naive loop); dcgan-digits, sngan-digits, "
                   "resnet-digits, biggan-digits, progan-digits, stylegan2-digits, r3gan-digits (gankit only). Groups: naive "
                   "(the first three), families (the -digits ones), all")
    b.add_argument("--steps", type=int, default=60, help="steps per timed run (the first --warmup are not timed)")
    b.add_argument("--warmup", type=int, default=10, help="untimed warm-up steps of each run")
    b.add_argument("--window", type=int, default=10, help="steps per timed window (the median window is reported)")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="config override for every workload, both loops (e.g. data.batch_size=16)")
    b.add_argument("--rounds", type=int, default=2,
                   help="rounds of runs per workload (gankit, then naive where the workload has a naive loop)")
    b.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"], help="gankit's precision")
    b.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                   help="time in wall seconds, or process CPU seconds (steadier on a shared machine; 1 thread)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("recipes", help="list every recipe")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_recipes)

    d = sub.add_parser("data", help="built-in datasets; checks and preparation of user data")
    dsub = d.add_subparsers(dest="data_verb", required=True, parser_class=_Parser)
    dl = dsub.add_parser("list", help="list built-in datasets")
    dl.add_argument("--json", action="store_true")
    dl.set_defaults(func=cmd_data_list)
    dc = dsub.add_parser("check", help="validate a user dataset")
    dc.add_argument("path")
    dc.add_argument("--json", action="store_true")
    dc.add_argument("--layout", default="auto", choices=["auto", "images", "paired", "unpaired", "table", "series"],
                    help="how to read a folder (paired: A|B side-by-side images or A/ + B/ folders) "
                         "or a .csv (table, or series: one time step per row)")
    dc.set_defaults(func=cmd_data_check)
    dp = dsub.add_parser("prepare", help="decode, crop and resize a dataset once into memory-mappable arrays "
                         "(train on the result with --data OUT)")
    dp.add_argument("src", help="an image folder (class subfolders: labels), paired A|B or A/ + B/ folders, "
                    "trainA/ + trainB/, a .zip of one of these, .npz, MNIST IDX or CIFAR batches")
    dp.add_argument("--out", required=True, help="the prepared dataset's folder (new or empty)")
    dp.add_argument("--resolution", type=int, default=0,
                    help="square size of the prepared images (required for images; MIDI files need none)")
    dp.add_argument("--channels", type=int, default=0, choices=[0, 1, 3], help="1 or 3 to convert (0: as decoded)")
    dp.add_argument("--layout", default="auto", choices=["auto", "images", "paired", "unpaired"])
    dp.add_argument("--crop", default="center", choices=["center", "random", "none"],
                    help="how non-square images become square (none: squash)")
    dp.add_argument("--a-resolution", type=int, default=0, help="paired/unpaired inputs at another size (0: same)")
    dp.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"], help="which side of a pair is the input")
    dp.add_argument("--no-labels", action="store_true", help="ignore class subfolders / label arrays")
    dp.add_argument("--json", action="store_true", help="print the manifest")
    dp.set_defaults(func=cmd_data_prepare)
    dd = dsub.add_parser("download", help="fetch mnist, fashion-mnist or cifar10 (needs a network; opt-in)")
    dd.add_argument("name", choices=["mnist", "fashion-mnist", "cifar10"])
    dd.add_argument("--out", required=True, help="folder to put the files in")
    dd.set_defaults(func=cmd_data_download)
    return p
