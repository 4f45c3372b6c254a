"""The dock widgets, one subpackage (or module) per dock."""
