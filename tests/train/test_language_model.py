"""examples/language_model.py in quick mode: both models learn (validation perplexity falls well
below the vocabulary size, a uniform guess's perplexity) and generate verses from their prompts;
the bundled corpus loads."""
import os
import runpy

import pytest

import ember as em

from ..devices import require

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def test_genesis_is_bundled():
    verses = em.data.datasets.load_genesis()
    assert len(verses) == 458
    assert verses[0] == "In the beginning God created the heaven and the earth."
    assert all(v and not v.startswith("#") for v in verses)


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_language_model_quick(model, capsys):
    require("cpu")
    main = runpy.run_path(os.path.join(EXAMPLES, "language_model.py"), run_name="example")["main"]
    result = main(["--model", model, "--quick", "--device", "cpu"])
    curve, vocab = result["perplexity"], result["vocab"]
    assert len(curve) == 2 and curve[1] < curve[0]
    assert curve[1] < vocab / 3
    prompts = ("And God", "And Abram", "The LORD")
    assert [s.split()[:2] for s in result["samples"]] == [p.split() for p in prompts]
    out = capsys.readouterr().out
    assert "validation perplexity" in out and "samples:" in out
