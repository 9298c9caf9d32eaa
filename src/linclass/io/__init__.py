"""Files: model files (:mod:`~linclass.io.persist`, checked against the metadata schema in
:mod:`~linclass.io.metadata`, parsed by :mod:`~linclass.io.strict_json`), atomic writes
(:mod:`~linclass.io.fileio`) and run reports (:mod:`~linclass.io.report`)."""
