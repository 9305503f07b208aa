"""Training pipeline: mine a corpus, pretrain a small base, QLoRA-fine-tune and evaluate."""
