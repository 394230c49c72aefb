"""One function per verb: read the parsed flags, call the library, print what it wrote."""
from __future__ import annotations

import json
import os

from ..errors import UserError


def cmd_train(args) -> int:
    from ..train import resolve_run, train

    overrides = (args.set or []) + ([f"loop.init_from={args.init_from}"] if args.init_from else [])
    run = resolve_run(recipe=args.recipe, data=args.data, config_file=args.config, steps=args.steps,
                      overrides=overrides)
    out = args.out or f"runs/{run.cfg.recipe}-{_slug(run.cfg.data.name)}"
    final = train(run, out, resume=args.resume, allow_config_change=args.allow_config_change)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, one report
        print(f"run: {out}\ncheckpoint: {final}\nsamples: {out}/samples/latest.png")
    return 0


def cmd_sample(args) -> int:
    from .. import load
    from ..generate import write_samples

    model = load(args.checkpoint)
    if getattr(args, "code_grid", False):  # InfoGAN: one grid per latent code (gankit.latent)
        from ..latent import write_code_grids

        for k, v in write_code_grids(model, args.out, seed=args.seed).items():
            print(f"{k}: {v}")
        return 0
    message = None
    if args.watermark_message is not None:
        from ..detect.watermark import parse_message

        if args.watermark is None:
            raise UserError("--watermark-message: only used with --watermark KEY")
        message = parse_message(args.watermark_message)
    files = write_samples(model, args.n, args.out, seed=args.seed, class_=args.class_, truncation=args.truncation,
                          watermark=args.watermark, watermark_message=message, text=args.text)
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0


def cmd_synth(args) -> int:
    from .. import load
    from ..synth import write_synthetic

    message = None
    if args.watermark_message is not None:
        from ..detect.watermark import parse_message

        if args.watermark is None:
            raise UserError("--watermark-message: only used with --watermark KEY")
        message = parse_message(args.watermark_message)
    res = write_synthetic(load(args.checkpoint), args.per_class, args.out, seed=args.seed,
                          truncation=args.truncation, watermark=args.watermark, watermark_message=message)
    print(f"synthetic: {res['count']} images, {res['per_class']} per class x {len(res['classes'])} classes "
          f"in {res['out']} (manifest {res['out']}/synth.json)")
    return 0


def cmd_detect(args) -> int:
    from ..detect import run

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
    from ..translate import translate_files

    res = translate_files(args.checkpoint, args.input, args.out, direction=args.direction, domain=args.domain,
                          seed=args.seed)
    print(f"translated: {res['count']} input(s) -> {len(res['outputs'])} output(s) in {res['out']}"
          + (f" ({res['strips']} input|output|target strips)" if res["strips"] else ""))
    return 0


def cmd_interpolate(args) -> int:
    from .. import load
    from ..latent import write_interpolation

    res = write_interpolation(load(args.checkpoint), args.seeds, args.steps, args.out, space=args.space,
                              method=args.method, class_=args.class_, truncation=args.truncation)
    print(f"interpolation: {res['frames']} frames ({args.method} in {args.space}) -> {res['gif']}"
          + (f" (+ frames and strip in {res['dir']})" if "dir" in res else ""))
    return 0


def cmd_invert(args) -> int:
    from .. import load
    from ..latent import write_inversion

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
    from .. import load
    from ..latent import write_directions

    res = write_directions(load(args.checkpoint), args.out, method=args.method, n=args.n, space=args.space,
                           seed=args.seed, class_=args.class_)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"directions: {len(res['names'])} in {res['space']} ({res['method']}, {res['n']} samples; "
              f"class counts {res['class_counts']}) -> {res['out']}")
    return 0


def cmd_edit(args) -> int:
    from .. import load
    from ..latent import write_edit

    res = write_edit(load(args.checkpoint), args.directions, args.direction, args.strength, args.out,
                     seeds=args.seed, input=args.input, steps=args.steps, invert_steps=args.invert_steps,
                     class_=args.class_, truncation=args.truncation, start=args.start)
    print(f"edit: {len(res['names'])} row(s) x {len(res['strengths'])} strengths of {res['direction']!r} "
          f"-> {res['strip']}")
    return 0


def cmd_eval(args) -> int:
    from ..metrics.evaluate import format_results, json_safe, run

    res = run(args.checkpoint, args.metrics, args.n, args.extractor, args.seed, args.report,
              args.inception_weights, args.real_vs_real, args.data, args.resolution)
    print(json.dumps(json_safe(res)) if args.json else format_results(res))
    return 0


def cmd_studio(args) -> int:
    try:  # FastAPI and uvicorn are the optional `studio` extra
        from ..studio import serve
    except ImportError as e:
        raise UserError(f"studio: {e.name or 'a web package'} is not installed: pip install 'gankit[studio]'") from None

    serve(checkpoint=args.checkpoint, runs=args.runs, port=args.port, host=args.host, detector=args.detector,
          threads=args.threads, verbose=args.verbose, token=args.token, allow_hosts=args.allow_host or (),
          workers=args.workers)
    return 0


def cmd_bench(args) -> int:
    from ..bench import format_table, run_bench

    names = [n.strip() for n in args.workloads.split(",") if n.strip()] if args.workloads else None
    result = run_bench(names, steps=args.steps, rounds=args.rounds, precision=args.precision,
                       warmup=args.warmup, window=args.window, overrides=args.set or [], clock=args.clock)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def cmd_recipes(args) -> int:
    from ..registry import RECIPES

    rows = [(name, cls.description) for name, cls in RECIPES.items()]
    if args.json:
        print(json.dumps(dict(rows)))
    else:
        width = max(len(n) for n, _ in rows)
        for name, desc in rows:
            print(f"{name:<{width}}  {desc}")
    return 0


def cmd_data_list(args) -> int:
    from ..data.catalog import catalog

    rows = catalog()
    if args.json:
        print(json.dumps(rows))
        return 0
    from ..data.catalog import shape_text

    w = max([18] + [len(r["name"]) for r in rows])  # the name column fits the longest name
    print(f"{'name':<{w}} {'kind':<8} {'size':>7}  {'shape':<20} {'classes':>7}  description")
    for r in rows:
        print(f"{r['name']:<{w}} {r['kind']:<8} {r['size']:>7}  {shape_text(r):<20} {r['classes']:>7}  "
              f"{r['description']}")
    return 0


def cmd_data_check(args) -> int:
    from ..data.check import check_path

    report = check_path(args.path, layout=args.layout)
    print(json.dumps(report, indent=1) if args.json else report["text"])
    return 0 if report.get("ok", True) else 2


def cmd_data_prepare(args) -> int:
    from ..data.prepare import prepare, summary

    m = prepare(args.src, args.out, args.resolution, channels=args.channels, layout=args.layout, crop=args.crop,
                labels=not args.no_labels, direction=args.direction, a_resolution=args.a_resolution)
    print(json.dumps(m, indent=1) if args.json else summary(m, args.out))
    return 0


def cmd_data_download(args) -> int:
    from ..data.download import download

    path = download(args.name, args.out)
    print(f"data: {path}\ntrain with: gankit train --data {path}")
    return 0


# ----------------------------------------------------------------------------- parser


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip("/").split("/")[-1]) or "data"
