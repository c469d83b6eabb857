"""Train one generation with TRL (SFTTrainer / DPOTrainer) and PEFT.

Data rows by setting:
    sft  {"prompt": [messages], "completion": [{"role": "assistant", ...}]}  loss on the answer only
    sdf  {"text": document}                                                   plain language modelling
    dpo  {"prompt": [messages], "chosen": [assistant msg], "rejected": [assistant msg]}

reinit starts from the base weights (a fresh LoRA); continual starts from the parent
generation (its LoRA made trainable again, or its full checkpoint).
"""

import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from iterft.config import TrainingConfig
from iterft.errors import IterftError
from iterft.models import default_device, load_causal_lm, load_tokenizer, resolve_dtype

logger = logging.getLogger(__name__)

Setting = Literal["sft", "sdf", "dpo"]


def resolve_bf16(value: str | bool, device: str) -> bool:
    """TRL defaults bf16 on; on a CPU without AMX that makes training ~12x slower."""
    if value == "auto":
        return resolve_dtype("auto", device) == "bfloat16"
    return bool(value)


def train_generation(
    *,
    setting: Setting,
    base_path: Path,
    parent: Path | None,
    parent_kind: Literal["adapter", "full"] | None,
    rows: list[dict[str, Any]],
    config: TrainingConfig,
    out_dir: Path,
    callbacks: list | None = None,
) -> dict[str, Any]:
    """Train on `rows` and save the result (adapter or full checkpoint) into `out_dir`.

    Returns training metrics: loss, runtime, examples, trained tokens per second.
    """
    import torch
    from datasets import Dataset
    from peft import LoraConfig, PeftModel

    if not rows:
        raise IterftError("No training data left after filtering; loosen the filters or raise `samples`")
    device = default_device()
    tokenizer = load_tokenizer(base_path)
    start_from = parent if (parent is not None and parent_kind == "full") else base_path
    # loaded on the CPU: the Trainer places it (per rank under accelerate launch)
    model = load_causal_lm(start_from, device="cpu", dtype="float32").train()
    peft_config = None
    if config.method == "lora":
        if parent is not None and parent_kind == "adapter":
            model = PeftModel.from_pretrained(model, parent, is_trainable=True)
        else:
            peft_config = LoraConfig(
                r=config.lora.r,
                lora_alpha=config.lora.alpha,
                lora_dropout=config.lora.dropout,
                target_modules=config.lora.target_modules,
                task_type="CAUSAL_LM",
            )
    elif parent_kind == "adapter":
        raise IterftError("training.method 'full' cannot continue from a LoRA generation")

    dataset = Dataset.from_list(rows)
    scratch = tempfile.TemporaryDirectory(prefix="iterft-trl-")  # TRL wants an output_dir; nothing is kept there
    common = dict(
        output_dir=scratch.name,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        max_length=config.max_length,
        seed=config.seed,
        bf16=resolve_bf16(config.bf16, device),
        gradient_checkpointing=config.gradient_checkpointing,
        save_strategy="no",
        report_to=[],
        logging_steps=1,
        disable_tqdm=callbacks is not None,  # the driver shows its own progress bar
        use_cpu=device == "cpu",
    )
    started = time.perf_counter()
    if setting == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(**common, beta=config.dpo_beta),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(**common, completion_only_loss=None),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    if callbacks is not None:  # with tqdm off, transformers would print every log dict instead
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    result = trainer.train()
    runtime = time.perf_counter() - started
    # save_model gathers sharded (FSDP/DeepSpeed) weights and writes on the main process only
    trainer.save_model(str(out_dir))
    if trainer.accelerator.is_main_process:
        for pickled in out_dir.glob("*.bin"):  # training_args.bin: never kept, never loaded
            pickled.unlink()
        if config.method == "full":
            tokenizer.save_pretrained(out_dir)
    tokens = _count_tokens(trainer)
    del trainer, model
    scratch.cleanup()
    if device == "cuda":
        torch.cuda.empty_cache()
    return {
        "train_loss": round(float(result.training_loss), 4),
        "train_seconds": round(runtime, 1),
        "examples": len(rows),
        "epochs": config.epochs,
        # the training loop alone (TRL's train_runtime), without model loading and tokenizing
        "train_tokens_per_s": round(tokens * config.epochs / result.metrics["train_runtime"], 1)
        if tokens
        else None,
    }


def _count_tokens(trainer: Any) -> int:
    """Tokens in one epoch of the processed training set (DPO: prompt + chosen + rejected)."""
    columns = trainer.train_dataset.column_names
    counted = [c for c in ("input_ids", "prompt_ids", "chosen_ids", "rejected_ids") if c in columns]
    return sum(len(x) for c in counted for x in trainer.train_dataset[c])


def launch_training(job: dict[str, Any], data: Path, num_processes: int) -> dict[str, Any]:
    """Run `python -m iterft.train` under `accelerate launch` with `num_processes` processes."""
    import json
    import subprocess
    import sys

    from iterft.train.__main__ import METRICS

    out_dir = Path(job["out_dir"])
    job_file = out_dir.parent / f"{out_dir.name}.job.json"
    job_file.write_text(json.dumps({
        **{k: str(v) if isinstance(v, Path) else v for k, v in job.items() if k != "config"},
        "config": job["config"].model_dump(mode="json"),
        "data": str(data),
    }))
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes)]
    if default_device() == "cpu":
        command.append("--cpu")
    command += ["-m", "iterft.train", str(job_file)]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    finally:
        job_file.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(f"accelerate launch failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    metrics_file = out_dir / METRICS
    metrics = json.loads(metrics_file.read_text())
    metrics_file.unlink()
    return {**metrics, "num_processes": num_processes}
