"""``gankit <verb>``: parse arguments and call one library function per verb. No logic here.

Exit codes: 0 success; 2 a user mistake (one line on stderr naming the flag/file and the
problem, no traceback); 1 an unexpected internal error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one-line UserErrors (exit 2)."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}")


# ----------------------------------------------------------------------------- verbs


def cmd_train(args) -> int:
    from .train import resolve_run, train

    run = resolve_run(recipe=args.recipe, data=args.data, config_file=args.config, steps=args.steps,
                      overrides=args.set or [])
    out = args.out or f"runs/{run.cfg.recipe}-{_slug(run.cfg.data.name)}"
    final = train(run, out, resume=args.resume, allow_config_change=args.allow_config_change)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one report
        print(f"run: {out}\ncheckpoint: {final}\nsamples: {out}/samples/latest.png")
    return 0


def cmd_sample(args) -> int:
    from . import load
    from .generate import write_samples

    model = load(args.checkpoint)
    if getattr(args, "code_grid", False):  # InfoGAN: one grid per latent code (gankit.latent)
        from .latent import write_code_grids

        for k, v in write_code_grids(model, args.out, seed=args.seed).items():
            print(f"{k}: {v}")
        return 0
    message = None
    if args.watermark_message is not None:
        from .detect.watermark import parse_message

        if args.watermark is None:
            raise UserError("--watermark-message: only used with --watermark KEY")
        message = parse_message(args.watermark_message)
    files = write_samples(model, args.n, args.out, seed=args.seed, class_=args.class_, truncation=args.truncation,
                          watermark=args.watermark, watermark_message=message, text=args.text)
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0


def cmd_synth(args) -> int:
    from . import load
    from .synth import write_synthetic

    message = None
    if args.watermark_message is not None:
        from .detect.watermark import parse_message

        if args.watermark is None:
            raise UserError("--watermark-message: only used with --watermark KEY")
        message = parse_message(args.watermark_message)
    res = write_synthetic(load(args.checkpoint), args.per_class, args.out, seed=args.seed,
                          truncation=args.truncation, watermark=args.watermark, watermark_message=message)
    print(f"synthetic: {res['count']} images, {res['per_class']} per class x {len(res['classes'])} classes "
          f"in {res['out']} (manifest {res['out']}/synth.json)")
    return 0


def cmd_detect(args) -> int:
    from .detect import run

    if args.action == "train":
        res = run.train_command(args.real, args.fake, args.out, n=args.n, steps=args.steps, seed=args.seed,
                                augment=args.augment, resolution=args.resolution, width=args.width,
                                unused={"--checkpoint": args.checkpoint, "--input": args.input,
                                        "--watermark": args.watermark, "--watermark-message": args.watermark_message})
        print(json.dumps(res) if args.json else run.format_train(res))
        return 0
    res = run.scan(args.input, args.checkpoint, args.watermark, args.watermark_message,
                   unused={"--real": args.real, "--fake": args.fake, "--out": args.out, "--steps": args.steps,
                           "--resolution": args.resolution, "--width": args.width, "--n": args.n})
    print(run.to_json(res) if args.json else run.format_scan(res))
    return 0


def cmd_translate(args) -> int:
    from .translate import translate_files

    res = translate_files(args.checkpoint, args.input, args.out, direction=args.direction, domain=args.domain,
                          seed=args.seed)
    print(f"translated: {res['count']} input(s) -> {len(res['outputs'])} output(s) in {res['out']}"
          + (f" ({res['strips']} input|output|target strips)" if res["strips"] else ""))
    return 0


def cmd_interpolate(args) -> int:
    from . import load
    from .latent import write_interpolation

    res = write_interpolation(load(args.checkpoint), args.seeds, args.steps, args.out, space=args.space,
                              method=args.method, class_=args.class_, truncation=args.truncation)
    print(f"interpolation: {res['frames']} frames ({args.method} in {args.space}) -> {res['gif']}"
          + (f" (+ frames and strip in {res['dir']})" if "dir" in res else ""))
    return 0


def cmd_invert(args) -> int:
    from . import load
    from .latent import write_inversion

    res = write_inversion(load(args.checkpoint), args.input, args.out, space=args.space, steps=args.steps,
                          seed=args.seed, feature_weight=args.feature_weight)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"inverted {res['images']} image(s) in {res['space']} ({res['steps']} steps): MSE {res['mse']:.5f} "
              f"PSNR {res['psnr']:.2f} dB (start: MSE {res['mse_start']:.5f} PSNR {res['psnr_start']:.2f} dB) "
              f"-> {res['out']}")
    return 0


def cmd_directions(args) -> int:
    from . import load
    from .latent import write_directions

    res = write_directions(load(args.checkpoint), args.out, method=args.method, n=args.n, space=args.space,
                           seed=args.seed, class_=args.class_)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"directions: {len(res['names'])} in {res['space']} ({res['method']}, {res['n']} samples; "
              f"class counts {res['class_counts']}) -> {res['out']}")
    return 0


def cmd_edit(args) -> int:
    from . import load
    from .latent import write_edit

    res = write_edit(load(args.checkpoint), args.directions, args.direction, args.strength, args.out,
                     seeds=args.seed, input=args.input, steps=args.steps, invert_steps=args.invert_steps,
                     class_=args.class_, truncation=args.truncation, start=args.start)
    print(f"edit: {len(res['names'])} row(s) x {len(res['strengths'])} strengths of {res['direction']!r} "
          f"-> {res['strip']}")
    return 0


def cmd_eval(args) -> int:
    from .metrics.evaluate import format_results, json_safe, run

    res = run(args.checkpoint, args.metrics, args.n, args.extractor, args.seed, args.report,
              args.inception_weights, args.real_vs_real, args.data, args.resolution)
    print(json.dumps(json_safe(res)) if args.json else format_results(res))
    return 0


def cmd_studio(args) -> int:
    try:  # FastAPI and uvicorn are the optional `studio` extra
        from .studio import serve
    except ImportError as e:
        raise UserError(f"studio: {e.name or 'a web package'} is not installed: pip install 'gankit[studio]'") from None

    serve(checkpoint=args.checkpoint, runs=args.runs, port=args.port, host=args.host, detector=args.detector,
          threads=args.threads, verbose=args.verbose, token=args.token, allow_hosts=args.allow_host or (),
          workers=args.workers)
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench

    names = [n.strip() for n in args.workloads.split(",") if n.strip()] if args.workloads else None
    result = run_bench(names, steps=args.steps, rounds=args.rounds, precision=args.precision,
                       warmup=args.warmup, window=args.window, overrides=args.set or [], clock=args.clock)
    if args.json:
        print(json.dumps(result))
        return 0
    for w in result["workloads"]:
        if "skipped" in w:
            print(f"{w['workload']:<10} skipped: {w['skipped']}")
        else:
            ours, ref = w["gankit"], w["naive"]
            print(f"{w['workload']:<10} {w['ratio']:.2f}x of naive, {ours['pct_of_peak']:.1f} % of peak   "
                  f"gankit {ours['img_per_s']:.1f} img/s {ours['gflops']:.1f} GFLOP/s ({ours['precision']}, peak "
                  f"{ours['peak_gflops']:.0f})   naive {ref['img_per_s']:.1f} img/s {ref['gflops']:.1f} GFLOP/s "
                  f"({ref['pct_of_peak']:.1f} % of fp32 peak {ref['peak_gflops']:.0f})   {w['description']}")
    return 0


def cmd_recipes(args) -> int:
    from .registry import RECIPES

    rows = [(name, cls.description) for name, cls in RECIPES.items()]
    if args.json:
        print(json.dumps(dict(rows)))
    else:
        width = max(len(n) for n, _ in rows)
        for name, desc in rows:
            print(f"{name:<{width}}  {desc}")
    return 0


def cmd_data_list(args) -> int:
    from .data.catalog import catalog

    rows = catalog()
    if args.json:
        print(json.dumps(rows))
        return 0
    from .data.catalog import shape_text

    print(f"{'name':<18} {'kind':<8} {'size':>7}  {'shape':<20} {'classes':>7}  description")
    for r in rows:
        print(f"{r['name']:<18} {r['kind']:<8} {r['size']:>7}  {shape_text(r):<20} {r['classes']:>7}  "
              f"{r['description']}")
    return 0


def cmd_data_check(args) -> int:
    from .data.check import check_path

    report = check_path(args.path, layout=args.layout)
    print(json.dumps(report, indent=1) if args.json else report["text"])
    return 0 if report.get("ok", True) else 2


def cmd_data_download(args) -> int:
    from .data.download import download

    path = download(args.name, args.out)
    print(f"data: {path}\ntrain with: gankit train --data {path}")
    return 0


# ----------------------------------------------------------------------------- parser


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip("/").split("/")[-1]) or "data"


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="gankit", description="Train, sample, evaluate and serve GANs.")
    p.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a recipe (default: dcgan on digits)")
    t.add_argument("--recipe", help="recipe name (see `gankit recipes`)")
    t.add_argument("--data", help="built-in dataset (see `gankit data list`) or a path")
    t.add_argument("--steps", type=int, help="generator steps")
    t.add_argument("--out", help="run directory (default runs/<recipe>-<data>)")
    t.add_argument("--config", help="YAML config file")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override, e.g. optim_g.lr=1e-4")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    t.add_argument("--allow-config-change", action="store_true", help="with --resume: accept a changed config")
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

    b = sub.add_parser("bench", help="training throughput: gankit's loop vs a tutorial-style loop")
    b.add_argument("--workloads", help="comma-separated (default: all): dcgan32,stylegan2,pix2pix")
    b.add_argument("--steps", type=int, default=60, help="steps per timed run (the first --warmup are not timed)")
    b.add_argument("--warmup", type=int, default=10, help="untimed warm-up steps of each run")
    b.add_argument("--window", type=int, default=10, help="steps per timed window (the median window is reported)")
    b.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="config override for every workload, both loops (e.g. data.batch_size=16)")
    b.add_argument("--rounds", type=int, default=2, help="alternating rounds of gankit and naive runs")
    b.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"], help="gankit's precision")
    b.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                   help="time in wall seconds, or process CPU seconds (steadier on a shared machine; 1 thread)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("recipes", help="list every recipe")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_recipes)

    d = sub.add_parser("data", help="built-in datasets and checks of user data")
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
    dd = dsub.add_parser("download", help="fetch mnist, fashion-mnist or cifar10 (needs a network; opt-in)")
    dd.add_argument("name", choices=["mnist", "fashion-mnist", "cifar10"])
    dd.add_argument("--out", required=True, help="folder to put the files in")
    dd.set_defaults(func=cmd_data_download)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"gankit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001
        from .checkpoint import CheckpointWriteError
        from .train.guard import TrainingDiverged

        if isinstance(e, (TrainingDiverged, CheckpointWriteError)):
            print(f"gankit: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
