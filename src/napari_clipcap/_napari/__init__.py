"""npe2 glue that needs no Qt: readers, writer, sample data, status-bar coordinates."""
