"""The Ask dock: questions to a local vision-language model about the image, the view or
each drawn shape."""
