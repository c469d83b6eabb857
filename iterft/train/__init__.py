"""Training one generation: TRL's SFT and DPO trainers with PEFT LoRA (or full finetuning)."""

from iterft.train._trainer import resolve_bf16, train_generation, training_device

__all__ = ["resolve_bf16", "train_generation", "training_device"]
