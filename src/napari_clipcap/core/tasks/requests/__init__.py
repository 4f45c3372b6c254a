"""One request per task, built by every door (dock, command line, batch) and run the same
way; ``to_argv()`` is the command provenance records (:mod:`.base`).

Names load lazily from their modules on first use."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "base": ["ImageInput", "LoadedImage", "TaskResult", "command_of"],
        "labels": ["LabelsRequest"],
        "caption": ["CaptionRequest"],
        "heatmap": ["HeatmapRequest"],
        "ground": ["GroundRequest"],
    },
)
