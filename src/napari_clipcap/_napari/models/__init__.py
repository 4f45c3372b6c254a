"""What the docks' model chooser knows without Qt: the choices and their settings file
(``specs``), which files a choice needs offline (``offline``), downloads (``download``)
and the loaded models of the session (``store``)."""
