"""benchmarks/family_table.py (issue #28): a row carries the class mix of G's digits."""
import json
import math


def test_a_row_carries_the_class_mix_and_old_results_gain_it(tmp_path, bench):
    ft = bench("family_table")
    res = ft.run("tiny=dcgan+loop.steps=2+loop.checkpoint_every=2", 0, tmp_path, n=200)
    assert 0.0 <= res["class_kl"] <= math.log(10) + 1e-6 and 0.1 <= res["confidence"] <= 1.0
    path = tmp_path / "tiny" / "seed0" / "result.json"
    assert json.loads(path.read_text())["class_kl"] == res["class_kl"]  # cached with the run
    # a result from before the column: the table's reader evaluates it once and keeps it
    old = {k: v for k, v in res.items() if k not in ("class_kl", "confidence")}
    path.write_text(json.dumps(old))
    again = ft.with_class_mix(old, path)
    assert again["class_kl"] == res["class_kl"]  # same checkpoint, same seed: the same number
    assert "class_kl" in json.loads(path.read_text())
    line = ft.table([ft.row("tiny", [again])]).splitlines()
    assert "class KL" in line[0] and f"{res['class_kl']:.4f}" in line[2]
