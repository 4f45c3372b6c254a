"""Token loops over a prefix: greedy, beam search, sampling, with a KV cache.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "loops": ["CausalLMStepper", "decode", "generate", "greedy_reference"],
        "options": ["DecodeOptions"],
    },
)
