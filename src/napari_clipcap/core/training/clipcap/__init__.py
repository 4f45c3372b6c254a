"""Training a ClipCap mapping network: the configuration, the run and its steps.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "train": ["ClipcapTrainConfig", "TrainResult", "train_clipcap"],
    },
)
