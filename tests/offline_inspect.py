"""The `inspect` CLI for tests, offline.

mockllm fills in token usage with tiktoken's o200k_base encoding, which tiktoken downloads on
first use; without internet that fails. This runs the same CLI with a character-based estimate.
"""

from inspect_ai._cli.main import main
from inspect_ai.model import ModelAPI


async def _estimate_tokens(self, text: str) -> int:
    return max(1, len(text) // 4)


ModelAPI.count_text_tokens = _estimate_tokens

if __name__ == "__main__":
    main()
