"""Time series: the sequence data kind (regime-prices, user CSV series), rgan on the loop,
samples.csv + plot, bad series files, and TimeGAN's metrics."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.timeseries import regime_series
from gankit.metrics.timeseries_metrics import (
    acf,
    autocorrelation_match,
    discriminative_score,
    predictive_score,
)
from gankit.presets import build_config
from gankit.train import train

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "loop.threads=1"]
TINY = ["--set", "data.batch_size=8", "--set", "G.kwargs.hidden=8", "--set", "D.kwargs.hidden=8",
        "--set", "loop.n_samples=4", "--set", "data.kwargs.seq_len=8"]
SMALL_DATA = ["--set", "data.kwargs.steps=400"]


def _train(data: str, out, *extra, tiny=TINY) -> list[str]:
    return ["train", "--recipe", "rgan", "--data", data, "--steps", "3", "--out", str(out), *FAST, *tiny, *extra]


def _series_csv(path, rows: int = 120):
    t = np.arange(rows)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "temp", "load"])
        for i in t:
            w.writerow([f"2026-01-{i % 28 + 1:02d}", f"{10 + 5 * np.sin(i / 6):.3f}", f"{100 + i % 7:.1f}"])
    return path


def test_rgan_trains_and_writes_series(tmp_path):
    run = tmp_path / "run"
    assert main(_train("regime-prices", run, *SMALL_DATA, "--set", "options.supervised=1.0")) == 0
    assert "G/supervised_mse" in (run / "metrics.jsonl").read_text()
    assert (run / "samples" / "latest.png").is_file()
    assert main(["sample", "--checkpoint", str(run), "--n", "3", "--out", str(tmp_path / "s")]) == 0
    rows = list(csv.reader((tmp_path / "s" / "samples.csv").read_text().splitlines()))
    assert rows[0] == ["sample", "t", "ret_a", "ret_b", "log_volume"] and len(rows) == 1 + 3 * 8
    assert (tmp_path / "s" / "plot.png").is_file()


def test_user_csv_series_and_bad_files(tmp_path, capsys):
    f = _series_csv(tmp_path / "meter.csv")
    # a date column is text: as a time series it must be dropped (the error says how)
    assert main(_train(str(f), tmp_path / "r0", "--set", "data.kwargs.layout=series")) == 2
    err = capsys.readouterr().err
    assert "meter.csv" in err and "line 2, column 'date'" in err and "not a number" in err
    run = tmp_path / "run"
    assert main(_train(str(f), run, "--set", "data.kwargs.layout=series",
                       "--set", "data.kwargs.columns=[temp, load]")) == 0
    d = load_data(DataConfig(name=str(f), kwargs={"layout": "series", "columns": ["temp", "load"], "seq_len": 8}))
    assert d.kind == "sequence" and tuple(d.shape) == (8, 2) and d.info["features"] == ["temp", "load"]
    assert abs(float(d.x[..., 0].mean())) < 0.3  # standardised with the training statistics
    assert main(["sample", "--checkpoint", str(run), "--n", "2", "--out", str(tmp_path / "s")]) == 0
    header = (tmp_path / "s" / "samples.csv").read_text().splitlines()[0]
    assert header == "sample,t,temp,load"
    # without layout=series a CSV is a table: rgan says what to add
    assert main(_train(str(f), tmp_path / "r1", "--set", "data.kwargs.columns=[temp, load]", tiny=TINY[:-2])) == 2
    assert "layout=series" in capsys.readouterr().err
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n" + "1,2\n" * 40 + "3\n")
    assert main(_train(str(ragged), tmp_path / "r2", "--set", "data.kwargs.layout=series")) == 2
    assert "ragged.csv: line 42 has 1 fields" in capsys.readouterr().err
    short = tmp_path / "short.csv"
    short.write_text("a\n" + "1\n" * 10)
    assert main(_train(str(short), tmp_path / "r3", "--set", "data.kwargs.layout=series")) == 2
    assert "short.csv" in capsys.readouterr().err


def test_regime_data_has_dynamics_and_exact_batches():
    series, regimes = regime_series(4000, seed=0)
    assert set(np.unique(regimes)) == {0, 1, 2}
    vol = np.abs(series[:, 0])
    assert vol[regimes == 2].mean() > 2 * vol[regimes == 0].mean()  # crisis is volatile
    d = load_data(DataConfig(name="regime-prices", kwargs={"steps": 800}))
    test = load_data(DataConfig(name="regime-prices", kwargs={"steps": 800}), split="test")
    assert d.x.dtype == torch.float32 and tuple(d.shape) == (24, 3) and len(test) > 0
    assert torch.equal(d.batch(4, 16, seed=2)["real"], d.batch(4, 16, seed=2)["real"])
    a = acf(d.x.numpy(), 5)
    assert a[0, 2] > 0.5 and abs(a[0, 0]) < 0.2  # volume is autocorrelated, returns are not


def test_save_load_round_trip(tmp_path):
    over = [a for a in TINY + FAST + SMALL_DATA if a != "--set"]
    cfg = build_config(recipe="rgan", data="regime-prices", steps=2, overrides=over)
    keep = {}
    train(cfg, tmp_path / "run", hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    model = gankit.load(tmp_path / "run")
    a = keep["recipe"].sample(keep["nets"]["G"].eval(), 5, seed=2)
    assert a.shape == (5, 8, 3) and torch.equal(a, model.sample(5, seed=2))


def test_timegan_metrics_separate_real_from_nonsense():
    g = torch.Generator().manual_seed(0)
    t = torch.arange(12).float()
    phase = torch.rand(300, 1, generator=g) * 6.28
    real = torch.stack([torch.sin(t / 2 + phase), torch.cos(t / 2 + phase)], -1)  # [300, 12, 2]
    noise = torch.randn(300, 12, 2, generator=g)
    assert discriminative_score(real[:150], real[150:], steps=150) < discriminative_score(real, noise, steps=150)
    assert predictive_score(real[:150], real[150:], steps=150) < predictive_score(noise, real, steps=150)
    m_same, m_noise = autocorrelation_match(real[:150], real[150:]), autocorrelation_match(real, noise)
    assert m_same["acf_diff"] < 0.1 < m_noise["acf_diff"]
    with pytest.raises(RuntimeError):
        discriminative_score(real, torch.randn(300, 12, 3), steps=1)  # different feature counts
