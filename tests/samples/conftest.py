"""Keep pytest out of the sample corpus: its test_*.py files are mining input, not tests."""

collect_ignore_glob = ["*"]
