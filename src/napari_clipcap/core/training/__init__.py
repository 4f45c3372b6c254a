"""Train a ClipCap mapping network and fine-tune CLIP on image-caption data.

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "datasets": [
            "CaptionDataset",
            "CaptionRecord",
            "read_caption_dataset",
            "read_image_folder",
        ],
        "clipcap": ["ClipcapTrainConfig", "train_clipcap"],
        "finetune_clip": ["FinetuneConfig", "finetune_clip"],
        "decoder_init": ["make_decoder"],
    },
)
