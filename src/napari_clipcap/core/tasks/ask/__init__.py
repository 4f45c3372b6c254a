"""Ask: a vision-language model answers a question about the image, the view or regions.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "regions": ["DEFAULT_VLM", "MAX_SIDE", "ask", "ask_image", "context_box"],
        "request": ["AskRequest", "AskResult"],
    },
)
