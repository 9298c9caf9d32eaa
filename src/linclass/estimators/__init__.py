"""The estimators: thin scikit-learn faces over the fit loop (:mod:`linclass.training`).

:mod:`~linclass.estimators.classifier` (``LinearClassifier``), :mod:`~linclass.estimators.image`
(``ImageClassifier``: features + classifier), :mod:`~linclass.estimators.regressor`
(``LinearRegressor``); :mod:`~linclass.estimators.params` derives their parameter
constraints from :mod:`linclass.options`, :mod:`~linclass.estimators.files` their model-file
codec.
"""
